"""The three-request flow of benchmarks/flows/three-step.yaml for Locust (benchmarks/flow_peers.py):
POST /login, read the JSON token, GET /me with `Authorization: Bearer TOKEN`, GET /items; one
status check per request; no wait between iterations (a closed loop, as lunge's constant-vus).

Two users with the same flow: FastFlowUser (FastHttpUser, geventhttpclient: Locust's fast
client) and HttpFlowUser (HttpUser, requests).  Pick one by name:

    locust -f benchmarks/flows/locustfile.py --headless -u 50 -r 50 -t 10s \
        --host http://127.0.0.1:18380 FastFlowUser
"""
from locust import FastHttpUser, HttpUser, constant


def _status(resp, want: int = 200) -> None:
    if resp.status_code != want:
        resp.failure(f"status {resp.status_code}, want {want}")
    else:
        resp.success()


def flow(user) -> None:
    with user.client.post("/login", json={"username": "bench", "password": "bench"}, catch_response=True) as r:
        _status(r)
        token = r.json().get("token", "") if r.status_code == 200 else ""
    with user.client.get("/me", headers={"Authorization": f"Bearer {token}"}, catch_response=True) as r:
        _status(r)
    with user.client.get("/items", catch_response=True) as r:
        _status(r)


class FastFlowUser(FastHttpUser):
    wait_time = constant(0)
    tasks = [flow]


class HttpFlowUser(HttpUser):
    wait_time = constant(0)
    tasks = [flow]
