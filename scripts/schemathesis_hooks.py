"""Schemathesis hooks for scripts/schemathesis.sh: the calling token, kept working.

The stateful phase lists the caller's tokens and then rotates, renames or revokes them, its own included (a token
may act on itself). After that every request would only meet 401 and test nothing. So before each test case the
token is checked, and when a test has rotated or revoked it, another is issued with the command line
(`tessera token create`), as an operator would.
"""

import os
import subprocess
import urllib.error
import urllib.request

import schemathesis


@schemathesis.auth(refresh_interval=None)
class WorkingToken:
    def __init__(self):
        self.token = None
        self.issued = 0

    def works(self):
        request = urllib.request.Request(
            os.environ["TESSERA_BASE_URL"] + "/api/v1/auth", headers={"Authorization": "Bearer " + self.token}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status == 200
        except urllib.error.HTTPError:
            return False

    def get(self, case, context):
        if self.token is None or not self.works():
            self.issued += 1
            name = f"{os.environ['TESSERA_FUZZ_TOKEN_PREFIX']}-{self.issued}"
            command = [os.environ["TESSERA_BIN"], "token", "create", "--account", "fuzzer", "--name", name]
            command += ["--privilege", "all", "--expires", "never"]
            self.token = subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()
        return self.token

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = "Bearer " + data
