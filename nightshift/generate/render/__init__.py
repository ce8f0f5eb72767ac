"""Source writers: render the population and a day's facts as each platform's records (catalog Tables)."""
