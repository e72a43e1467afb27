// The three-request flow of benchmarks/flows/three-step.yaml for k6 (benchmarks/flow_peers.py runs
// it only if a `k6` binary is on PATH): POST /login, the JSON token as a bearer token on
// GET /me, GET /items; one status check per request; no sleep (a closed loop).
//   k6 run -e BASE_URL=http://127.0.0.1:18380 --vus 50 --duration 10s benchmarks/flows/three-step.js
import http from 'k6/http';
import { check } from 'k6';

const BASE = __ENV.BASE_URL || 'http://127.0.0.1:18380';

export default function () {
  const login = http.post(`${BASE}/login`, JSON.stringify({ username: 'bench', password: 'bench' }),
    { headers: { 'Content-Type': 'application/json' } });
  check(login, { 'login 200': (r) => r.status === 200 });
  const token = login.status === 200 ? login.json('token') : '';
  const me = http.get(`${BASE}/me`, { headers: { Authorization: `Bearer ${token}` } });
  check(me, { 'me 200': (r) => r.status === 200 });
  const items = http.get(`${BASE}/items`);
  check(items, { 'items 200': (r) => r.status === 200 });
}
