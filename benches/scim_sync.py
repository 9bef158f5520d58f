#!/usr/bin/env python3
"""A SCIM sync as an identity provider runs one: N new users, one POST /scim/v2/Users each,
C at a time over keep-alive connections. Prints "created failed seconds" (benches/run.sh).

    scim_sync.py BASE_URL TOKEN COUNT CONCURRENCY PREFIX
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse


def main():
    base, token, count, concurrency, prefix = sys.argv[1:6]
    count, concurrency = int(count), int(concurrency)
    url = urllib.parse.urlsplit(base)
    lock = threading.Lock()
    next_index = [0]
    created = [0]
    failed = []

    def worker():
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        while True:
            with lock:
                i = next_index[0]
                if i >= count:
                    break
                next_index[0] += 1
            body = json.dumps({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": f"{prefix}{i:06d}@contoso.example",
                "externalId": f"{prefix}{i:06d}",
                "active": True,
                "name": {"givenName": "Synced", "familyName": f"User {i}"},
                "emails": [{"primary": True, "type": "work", "value": f"{prefix}{i:06d}@contoso.example"}],
            })
            conn.request("POST", url.path + "/Users", body, {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/scim+json",
            })
            response = conn.getresponse()
            response.read()
            with lock:
                if response.status == 201:
                    created[0] += 1
                else:
                    failed.append(response.status)
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    print(created[0], len(failed), f"{elapsed:.2f}")
    if failed:
        print("statuses of the failures:", sorted(set(failed)), file=sys.stderr)


if __name__ == "__main__":
    main()
