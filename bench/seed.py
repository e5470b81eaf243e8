#!/usr/bin/env python3
"""Seeds the benchmark data through the API: 1 user, 1 brand, N cars (fuel types in
rotation, so 1 in 6 is flex). Prints one JSON line: token, email, password, brand id,
and the range of car ids. Standard library only; one keep-alive connection."""

import http.client
import json
import sys

base = sys.argv[1]  # 127.0.0.1:PORT
cars = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
conn = http.client.HTTPConnection(base, timeout=30)


def call(method, path, body=None, token=None, expect=(200, 201)):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.status not in expect:
        sys.exit(f"seed: {method} {path} -> {response.status} {data[:300]!r}")
    return json.loads(data) if data else None


email, password = "bench@example.com", "bench-password"
user = call("POST", "/api/v1/users/", {"username": "bench", "email": email, "password": password})
token = call("POST", "/api/v1/auth/token", {"email": email, "password": password})["access_token"]
brand = call("POST", "/api/v1/brands/", {"name": "Toyota", "description": "Japanese"}, token)
fuels = ["gasoline", "ethanol", "flex", "diesel", "electric", "hybrid"]
gears = ["manual", "automatic", "semi_automatic", "cvt"]
ids = []
for i in range(cars):
    car = call("POST", "/api/v1/cars/", {
        "model": f"Model {i % 50}", "factory_year": 2015 + i % 10, "model_year": 2016 + i % 10,
        "color": "Prata", "plate": f"SEED{i:05d}", "fuel_type": fuels[i % 6],
        "transmission": gears[i % 4], "price": f"{30000 + i * 37}.50", "brand_id": brand["id"],
        "description": "Seeded for make bench" if i % 2 else None,
    }, token)
    ids.append(car["id"])
flex = call("GET", "/api/v1/cars/?limit=20&fuel_type=flex", token=token)["cars"]
assert len(flex) == 20, f"expected a full page of flex cars, got {len(flex)}"
print(json.dumps({"token": token, "email": email, "password": password, "user_id": user["id"],
                  "brand_id": brand["id"], "car_min": min(ids), "car_max": max(ids), "cars": len(ids)}))
