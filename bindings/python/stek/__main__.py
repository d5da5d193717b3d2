"""python3 -m stek: a small peer for scripts and cross-language tests.

    python3 -m stek STORE create-space NAME         prints the space id
    python3 -m stek STORE device-id                 prints the device id
    python3 -m stek STORE share DEVICE_ID FILE      seal the space to a device
    python3 -m stek STORE accept FILE               join a sealed space
    python3 -m stek STORE put TYPE JSON             prints the record id
    python3 -m stek STORE list [TYPE]               records, JSON Lines
    python3 -m stek STORE invite [TTL_S]            prints a token
    python3 -m stek STORE join TOKEN HOST PORT      accept an invitation, then sync
    python3 -m stek STORE serve [PORT]              prints {"port": P}, serves
                                                    until stdin closes
    python3 -m stek STORE sync HOST PORT            prints the stats as JSON
    python3 -m stek STORE state-hash                prints the state hash

STORE is a store file.  Exit 1 on a libstek error (its name on stderr).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import List

from . import StekError, Server, Store


def main(argv: List[str]) -> int:
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) >= 2 else 2
    path, cmd, args = argv[0], argv[1], argv[2:]
    try:
        if cmd == "serve":
            with Server(path, int(args[0]) if args else 0) as srv:
                print(json.dumps({"port": srv.port}), flush=True)
                sys.stdin.read()  # until the driver closes our stdin
            return 0
        with Store(path) as s:
            if cmd == "create-space":
                print(s.create_space(args[0] if args else ""))
            elif cmd == "device-id":
                print(s.device_id)
            elif cmd == "share":
                with open(args[1], "wb") as f:
                    f.write(s.space_share(args[0]))
            elif cmd == "accept":
                with open(args[0], "rb") as f:
                    s.space_accept(f.read())
            elif cmd == "put":
                print(s.put(args[0], None, json.loads(args[1])))
            elif cmd == "list":
                for r in s.records(args[0] if args else None):
                    print(json.dumps(r, ensure_ascii=False))
            elif cmd == "invite":
                print(s.invite_create(float(args[0]) if args else 86400))
            elif cmd == "join":
                s.invite_accept(args[0], args[1], int(args[2]))
                print(json.dumps(dataclasses.asdict(s.sync(args[1], int(args[2])))))
            elif cmd == "sync":
                print(json.dumps(dataclasses.asdict(s.sync(args[0], int(args[1])))))
            elif cmd == "state-hash":
                print(s.state_hash())
            else:
                print(f"python3 -m stek: unknown command {cmd!r}", file=sys.stderr)
                return 2
    except StekError as e:
        print(f"python3 -m stek: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
