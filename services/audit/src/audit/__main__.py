"""`python -m audit`: run the audit service.

python -m audit                 serve (HTTP API + appender + checkpointer + projector)
python -m audit keygen NAME     print a new checkpoint-signing key pair (C2SP note keys):
                                line 1 the signer key (-> AUDIT_SIGNING_KEY[_FILE], secret),
                                line 2 the verifier key (publish it; inspectors and
                                witnesses verify with it)
"""

import sys


def main(argv: list[str]) -> int:
    if argv and argv[0] == "keygen":
        if len(argv) != 2:
            print("usage: python -m audit keygen NAME  (e.g. bianmin.ruian/audit)", file=sys.stderr)
            return 2
        from tlog.note import KeyFormatError, generate_key

        try:
            signer, verifier = generate_key(argv[1])
        except KeyFormatError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(signer)
        print(verifier)
        return 0
    if argv:
        print(f"unknown command {argv[0]!r}; usage: python -m audit [keygen NAME]", file=sys.stderr)
        return 2
    from eventkit.service import serve

    from .bootstrap import build
    from .settings import Settings

    settings = Settings()
    serve(build(settings), settings)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
