#!/usr/bin/env python3
"""The client of bench/instructions.sh: N sequential requests on one keep-alive
connection, so the host's count is N requests and nothing else. For a path ending in
`/api/v1/cars/` it asks for the seeded cars in turn, with the seed's token.
Prints `requests N non2xx K`. Standard library only."""

import http.client
import json
import sys

base, path, n, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
conn = http.client.HTTPConnection(base, timeout=120)
headers = {"Authorization": f"Bearer {seed['token']}"}
cars = range(seed["car_min"], seed["car_max"] + 1)
bad = 0
for i in range(n):
    target = f"{path}{cars[i % len(cars)]}" if path.endswith("/cars/") else path
    conn.request("GET", target, headers=headers)
    response = conn.getresponse()
    response.read()
    bad += not 200 <= response.status < 300
print("requests", n, "non2xx", bad)
