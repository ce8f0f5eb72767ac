"""The channel simulator on a real port: each vendor's shapes, throttling codes, token expiry, faults, the ledger."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from nightshift.generate.channels import (
    ChannelSimulator,
    SimulatorConfig,
    SimulatorProcess,
    address_fails,
    read_ledger,
)

UNLIMITED = {"sms": 0, "app_push": 0, "wechat_oa_template": 0, "wecom": 0}


@pytest.fixture
def simulator(tmp_path, request):
    config = getattr(request, "param", None) or SimulatorConfig(rate_limits=dict(UNLIMITED))
    with ChannelSimulator(config, tmp_path / "ledger") as running:
        yield running


def sms_params(out_id: str, phones: list[str]) -> dict:
    return {
        "Action": "SendBatchSms", "Version": "2017-05-25", "Format": "JSON", "AccessKeyId": "ak",
        "Signature": "sig", "PhoneNumberJson": json.dumps(phones),
        "SignNameJson": json.dumps(["夜班商城"] * len(phones)),
        "TemplateCode": "SMS_1", "TemplateParamJson": json.dumps([{"city": "上海"}] * len(phones)), "OutId": out_id,
    }  # fmt: skip


def test_aliyun_send_batch_sms_answers_and_ledger_counts_each_number(simulator, tmp_path):
    phones = ["13800000001", "13800000002"]
    answer = httpx.post(simulator.url + "/", data=sms_params("batch-1", phones))
    assert answer.status_code == 200
    body = answer.json()
    assert body["Code"] == "OK" and body["BizId"] and body["RequestId"]
    ledger = read_ledger(tmp_path / "ledger")
    assert [(s["channel"], s["key"], s["status"]) for s in ledger.sends] == [
        ("sms", "batch-1/13800000001", "accepted"),
        ("sms", "batch-1/13800000002", "accepted"),
    ]
    assert {s["vendor_message_id"] for s in ledger.sends} == {body["BizId"]}
    assert ledger.calls[-1]["outcome"] == "accepted" and ledger.calls[-1]["endpoint"] == "SendBatchSms"
    # without credentials, or with too many numbers, nothing is sent
    unsigned = {k: v for k, v in sms_params("batch-2", phones).items() if k != "Signature"}
    assert httpx.post(simulator.url + "/", data=unsigned).json()["Code"] == "MissingAccessKeyId"
    too_many = httpx.post(simulator.url + "/", params=sms_params("batch-3", [f"138{i:08d}" for i in range(101)]))
    assert too_many.status_code == 400 and too_many.json()["Code"] == "isv.BATCH_LIMIT_CONTROL"
    assert len(read_ledger(tmp_path / "ledger").sends) == 2


def test_repeated_idempotency_key_answers_the_first_result_without_a_second_send(simulator, tmp_path):
    first = httpx.post(simulator.url + "/", data=sms_params("batch-1", ["13800000001"])).json()
    again = httpx.post(simulator.url + "/", data=sms_params("batch-1", ["13800000001"])).json()
    assert again["BizId"] == first["BizId"]
    ledger = read_ledger(tmp_path / "ledger")
    assert ledger.taken_per_address("sms") == {"13800000001": 1}
    assert [call["outcome"] for call in ledger.calls] == ["accepted", "repeat"]
    # a different key for the same number IS a second send, and the ledger shows it (no silent dedup)
    httpx.post(simulator.url + "/", data=sms_params("batch-2", ["13800000001"]))
    assert read_ledger(tmp_path / "ledger").taken_per_address("sms") == {"13800000001": 2}


def test_jpush_needs_basic_auth_and_answers_sendno_and_msg_id(simulator, tmp_path):
    push = {"cid": "app-1", "platform": "all", "audience": {"alias": ["u1", "u2"]},
            "notification": {"alert": "hi"}, "options": {"sendno": 7}}  # fmt: skip
    assert httpx.post(simulator.url + "/v3/push", json=push).status_code == 401
    answer = httpx.post(simulator.url + "/v3/push", json=push, auth=("key", "secret"))
    assert answer.status_code == 200 and answer.json()["sendno"] == "7" and answer.json()["msg_id"]
    assert read_ledger(tmp_path / "ledger").taken_per_address("app_push") == {"u1": 1, "u2": 1}


def at_once(send, count: int) -> list:
    """`count` calls made together (threads), so they reach the simulator within one second even on a busy
    machine; answers in call order."""
    with ThreadPoolExecutor(max_workers=count) as callers:
        return list(callers.map(send, range(count)))


@pytest.mark.parametrize(
    "simulator",
    [SimulatorConfig(rate_limits={**UNLIMITED, "app_push": 3, "sms": 3, "wechat_oa_template": 3, "wecom": 3})],
    indirect=True,
)
def test_over_the_limit_each_vendor_answers_its_throttling_code(simulator):
    push = {"platform": "all", "audience": {"alias": ["u1"]}, "notification": {"alert": "hi"}}
    jpush = at_once(lambda _: httpx.post(simulator.url + "/v3/push", json=push, auth=("k", "s")), 8)
    assert [a.status_code for a in jpush].count(200) == 3
    assert {a.json()["error"]["code"] for a in jpush if a.status_code != 200} == {2002}
    assert {a.status_code for a in jpush if a.status_code != 200} == {429}
    sms = at_once(lambda i: httpx.post(simulator.url + "/", data=sms_params(f"b{i}", ["13800000001"])), 8)
    assert sorted((a.status_code, a.json()["Code"]) for a in sms) == [(200, "OK")] * 3 + [(400, "Throttling.User")] * 5
    token = httpx.get(simulator.url + "/cgi-bin/token", params={"appid": "a", "secret": "s"}).json()["access_token"]
    wechat = at_once(
        lambda i: httpx.post(simulator.url + "/cgi-bin/message/template/send", params={"access_token": token},
                             json={"touser": "o1", "template_id": "t", "client_msg_id": f"m{i}", "data": {}}).json(),
        8,
    )  # fmt: skip
    assert sorted(answer["errcode"] for answer in wechat) == [0] * 3 + [45011] * 5
    wecom_token = httpx.get(simulator.url + "/cgi-bin/gettoken", params={"corpid": "c", "corpsecret": "s"}).json()
    wecom = at_once(
        lambda i: httpx.post(simulator.url + "/cgi-bin/externalcontact/mark_tag",
                             params={"access_token": wecom_token["access_token"]},
                             json={"userid": "staff", "external_userid": f"wm{i}", "add_tag": ["t1"]}).json(),
        8,
    )  # fmt: skip
    assert sorted(answer["errcode"] for answer in wecom) == [0] * 3 + [45033] * 5


@pytest.mark.parametrize(
    "simulator", [SimulatorConfig(rate_limits=dict(UNLIMITED), token_ttl_calls=2, invalid_share=0.3)], indirect=True
)
def test_tokens_expire_and_unsubscribed_followers_fail_for_good(simulator, tmp_path):
    url = simulator.url + "/cgi-bin/message/template/send"
    token = httpx.get(simulator.url + "/cgi-bin/token", params={"appid": "a", "secret": "s"}).json()
    assert token["expires_in"] == 7200
    openids = [f"openid{i}" for i in range(20)]
    failing = [o for o in openids if address_fails("wechat_oa_template", o, 0.3)]
    assert 0 < len(failing) < len(openids)

    def send(access_token: str, openid: str) -> dict:
        message = {"touser": openid, "template_id": "t", "client_msg_id": f"c-{openid}", "data": {}}
        return httpx.post(url, params={"access_token": access_token}, json=message).json()

    assert send("not-a-token", openids[0])["errcode"] == 40001
    codes = [send(token["access_token"], openid)["errcode"] for openid in openids[:3]]
    assert codes[2] == 42001  # the third use of a two-call token
    answers = {}
    for openid in openids:
        fresh = httpx.get(simulator.url + "/cgi-bin/token", params={"appid": "a", "secret": "s"}).json()
        answers[openid] = send(fresh["access_token"], openid)["errcode"]
    assert {o for o, code in answers.items() if code == 43004} == set(failing)
    ledger = read_ledger(tmp_path / "ledger")
    failed = {s["address"]: s["vendor_code"] for s in ledger.sends if s["status"] == "failed"}
    assert failed == dict.fromkeys(failing, "43004")
    assert all(count == 1 for count in ledger.taken_per_address("wechat_oa_template").values())


@pytest.mark.parametrize(
    "simulator",
    [SimulatorConfig(rate_limits=dict(UNLIMITED), unavailable_share=0.3, slow_share=0.2, slow_seconds=1.5)],
    indirect=True,
)
def test_faults_are_503s_and_late_answers_and_every_call_is_logged(simulator, tmp_path):
    push = {"platform": "all", "audience": {"alias": ["u1"]}, "notification": {"alert": "hi"}}
    statuses = []
    for index in range(30):
        try:
            answer = httpx.post(simulator.url + "/v3/push", json={**push, "cid": f"c{index}"}, auth=("k", "s"),
                                timeout=0.75)  # fmt: skip
            statuses.append(answer.status_code)
        except httpx.ReadTimeout:
            statuses.append("timeout")
    calls = read_ledger(tmp_path / "ledger").calls
    assert len(calls) == 30
    outcomes = [call["outcome"] for call in calls]
    # a busy machine may time out an ordinary answer too, never answer a slow one in time
    assert 0 < statuses.count(503) <= outcomes.count("unavailable")
    assert statuses.count("timeout") >= outcomes.count("slow") > 0
    assert {"at", "channel", "endpoint", "http_status", "code", "outcome"} <= set(calls[0])
    # a late answer was still a send: the ledger has it
    sends = read_ledger(tmp_path / "ledger").sends
    assert len(sends) == outcomes.count("accepted") + outcomes.count("slow")


def test_busiest_second_is_measured_from_arrival_times(tmp_path):
    from nightshift.generate.channels.ledger import LedgerContents

    calls = [{"at": f"2026-11-20T00:00:{second:09.6f}+00:00", "channel": "sms", "endpoint": "SendBatchSms"}
             for second in (0.0, 0.5, 0.9, 1.2, 1.3, 3.0)]  # fmt: skip
    assert LedgerContents(sends=[], calls=calls).busiest_second("sms") == 4  # 0.5, 0.9, 1.2, 1.3


def test_the_simulator_in_its_own_process_answers_and_stops_with_the_block(tmp_path, capfd):
    config = SimulatorConfig(rate_limits=dict(UNLIMITED), revoked_credentials=("wecom",))
    with SimulatorProcess(config, tmp_path / "ledger") as simulator:
        token = httpx.get(simulator.url + "/cgi-bin/token", params={"appid": "wx", "secret": "s"}).json()
        answer = httpx.post(simulator.url + "/cgi-bin/message/template/send",
                            params={"access_token": token["access_token"]},
                            json={"touser": "openid-1", "template_id": "T", "client_msg_id": "c-1"}).json()  # fmt: skip
        refused = httpx.get(simulator.url + "/cgi-bin/gettoken", params={"corpid": "ww", "corpsecret": "s"}).json()
        process = simulator.process
    assert answer["errcode"] == 0 and refused["errcode"] == 40001  # its whole config came over, tuples included
    assert process.returncode == 0  # it stopped when the block ended
    assert "Warning" not in capfd.readouterr().err  # the demo's terminal shows the child's output
    ledger = read_ledger(tmp_path / "ledger")
    assert [(s["channel"], s["key"]) for s in ledger.sends] == [("wechat_oa_template", "c-1")]
    assert [c["outcome"] for c in ledger.calls] == ["token", "accepted", "refused"]
