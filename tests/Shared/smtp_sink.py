"""A real SMTP server for tests (aiosmtpd): every message it accepts is written to a folder as JSON.

usage: /usr/bin/python3 smtp_sink.py PORT FOLDER [USER PASSWORD]

Recipients whose local part starts with "busy" get 451 (try later), with "unknown" 550 (no such user). With USER and
PASSWORD, AUTH PLAIN/LOGIN is offered (over clear text: tests only) and checked; a wrong password gets 535.
Prints "listening" once it accepts connections.
"""
import json
import os
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("busy"):
            return "451 4.3.0 Mailbox busy, try again later"
        if local.startswith("unknown"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "login": session.auth_data.decode() if isinstance(session.auth_data, bytes) else session.auth_data,
            "data": envelope.content.decode("utf8", errors="replace"),
        }
        # Written aside and renamed, so a reader never sees half a message.
        name = os.path.join(self.folder, "%06d.json" % self.count)
        with open(name + ".tmp", "w", encoding="utf8") as f:
            json.dump(record, f)
        os.rename(name + ".tmp", name)
        return "250 Message accepted for delivery"


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    user, password = (sys.argv[3], sys.argv[4]) if len(sys.argv) > 4 else (None, None)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        # handled=False: aiosmtpd then answers a failure with 535 itself (its default, True, answers nothing).
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)

    kwargs = {"auth_require_tls": False, "authenticator": authenticator} if user else {}
    controller = Controller(Sink(folder), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    print("listening", flush=True)
    try:
        while sys.stdin.read(1):
            pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
