"""Source catalog: what each channel's system hands over, declared once and used by generator and ingestion."""
