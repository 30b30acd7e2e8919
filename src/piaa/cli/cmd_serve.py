"""`piaa serve`: the rate-and-learn web app and HTTP API (piaa.service); `piaa serve users add NAME`."""
from __future__ import annotations

import argparse
import sys


def _db_options(p: argparse.ArgumentParser, suppress: bool = False) -> None:
    d = {"default": argparse.SUPPRESS} if suppress else {}
    p.add_argument("--data-dir", metavar="PATH", help="where the server keeps its database and display copies "
                   "(default: the piaa user data dir + /serve)", **d)
    p.add_argument("--database-url", metavar="URL", help="postgresql://USER:PASS@HOST/DB for a team server "
                   "(default: $PIAA_DATABASE_URL, else SQLite in the data dir)", **d)


def register(sub) -> None:
    p = sub.add_parser("serve", help="web app + HTTP API: people rate photos and get their own ranking",
                       description="Serve the rate-and-learn web page and its JSON API (OpenAPI at /docs). "
                                   "Accounts: --allow-signup, or `piaa serve users add NAME`.")
    p.add_argument("--library", action="append", metavar="DIR", default=[],
                   help="a folder of photos to offer (walked recursively); repeat for several")
    _db_options(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine "
                   "only; put a TLS reverse proxy in front before opening it to a network)")
    p.add_argument("--port", type=int, default=8765, help="default: 8765")
    p.add_argument("--allow-signup", action="store_true", help="anyone who can reach the server may create an "
                   "account (default: only `piaa serve users add`)")
    p.add_argument("--allow-xmp-write", action="store_true", help="let signed-in people write their own stars, "
                   "flags and labels (and predicted stars, marked as piaa's) into XMP sidecars beside the photos "
                   "(never over a rating a person set in another tool)")
    p.add_argument("--xmp-owner", metavar="USER", default=None,
                   help="the member whose stars, flags and labels the XMP sidecars hold (a sidecar keeps one rating "
                        "per photo): only USER writes into and imports from them (default: the first admin, else "
                        "the first account)")
    p.add_argument("--forwarded-allow-ips", default=None, metavar="IPS",
                   help="behind a reverse proxy: the proxy addresses (comma-separated, e.g. 127.0.0.1) whose "
                        "X-Forwarded-For/-Proto headers are trusted (default: none, the headers are ignored, so a "
                        "client cannot choose the address the sign-in limit counts)")
    p.add_argument("--no-community", action="store_true", help="no library model: every ranking and profile "
                   "starts from the generic model, and nobody's ratings teach anyone else's start")
    p.add_argument("--cull-checks", type=_checks, default="all", metavar="LIST",
                   help="piaa cull's checks at 100 %% (eyes, focus, motion: comma-separated; all or none) judged on "
                        "the bursts in the background after each scan, so the Cull view and the stacks do not "
                        "suggest a blinking or soft frame (~0.2 s per 24-megapixel photo in a group, once; "
                        "default: all)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(func=run_serve)
    us = p.add_subparsers(dest="serve_command", metavar="users", title="accounts (optional, instead of serving)")
    users = us.add_parser("users", help="manage accounts: add / list / promote / demote / delete")
    uu = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = uu.add_parser("add", help="create an account (asks for the password, or --password-stdin)")
    add.add_argument("name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    add.add_argument("--admin", action="store_true", help="an admin: may invite people and remove members")
    _db_options(add, suppress=True)
    add.set_defaults(func=run_users_add)
    ls = uu.add_parser("list", help="list accounts with their role (admin or member)")
    _db_options(ls, suppress=True)
    ls.set_defaults(func=run_users_list)
    for action, text in (("promote", "make an account an admin (may invite people and remove members)"),
                         ("demote", "make an admin a plain member again")):
        cmd = uu.add_parser(action, help=text)
        cmd.add_argument("name")
        _db_options(cmd, suppress=True)
        cmd.set_defaults(func=run_users_role, admin=action == "promote")
    rm = uu.add_parser("delete", help="delete an account with its ratings, comparisons, profile and tokens")
    rm.add_argument("name")
    _db_options(rm, suppress=True)
    rm.set_defaults(func=run_users_delete)
    # the usage is written out: argparse would print the optional `users` sub-command as a required "users ..."
    p.usage = ("piaa serve [-h] --library DIR [--library DIR ...] [options]\n"
               f"       piaa serve users {{{','.join(uu.choices)}}} ...")


def _checks(text: str):
    from piaa.cli.options import argument_type
    from piaa.profiles.cull_checks import parse_checks

    return argument_type(parse_checks)(text)


def _settings(args, libraries=()):
    from piaa.service.settings import Settings

    kw = {"libraries": list(libraries), "database_url": getattr(args, "database_url", None)}
    if getattr(args, "data_dir", None):
        kw["data_dir"] = args.data_dir
    return Settings(**kw)


def _database(args):
    from piaa.service.app import open_database, prepare_data_dir

    s = _settings(args)
    prepare_data_dir(s)
    return open_database(s)


def _fail(exc) -> int:
    print(f"piaa serve: {exc}", file=sys.stderr)
    return 1


def run_serve(args) -> int:
    from pathlib import Path

    if not args.library:
        print("piaa serve: give at least one --library DIR (a folder of photos)", file=sys.stderr)
        return 2
    for d in args.library:
        if not Path(d).expanduser().is_dir():
            print(f"piaa serve: library folder not found: {d}", file=sys.stderr)
            return 2
    if not 0 < args.port < 65536:
        print(f"piaa serve: --port must be 1-65535, got {args.port}", file=sys.stderr)
        return 2
    import uvicorn

    from piaa.errors import PiaaError
    from piaa.service.app import create_app, open_database, prepare_data_dir

    try:
        settings = _settings(args, args.library)
        settings.allow_signup = args.allow_signup
        settings.allow_xmp_write = args.allow_xmp_write
        settings.xmp_owner = args.xmp_owner
        settings.trust_forwarded = bool(args.forwarded_allow_ips)
        settings.community = not getattr(args, "no_community", False)
        settings.cull_checks = args.cull_checks
        prepare_data_dir(settings)
        db = open_database(settings)
        app = create_app(settings, database=db)
    except PiaaError as exc:
        return _fail(exc)
    print(f"piaa serve: http://{args.host}:{args.port}/  (API docs at /docs; data in {settings.data_dir})",
          file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                proxy_headers=bool(args.forwarded_allow_ips), forwarded_allow_ips=args.forwarded_allow_ips or "",
                server_header=False)
    return 0


def run_users_add(args) -> int:
    from piaa.service.queries import UserExists, create_user
    from piaa.service.security import CredentialError, check_password, check_username

    try:
        name = check_username(args.name)
    except CredentialError as exc:
        print(f"piaa serve users add: {exc}", file=sys.stderr)
        return 2
    if args.password_stdin:
        pw = sys.stdin.readline().rstrip("\r\n")
    else:
        import getpass

        pw = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != pw:
            print("piaa serve users add: the passwords differ", file=sys.stderr)
            return 2
    try:
        check_password(pw)
    except CredentialError as exc:
        print(f"piaa serve users add: {exc}", file=sys.stderr)
        return 2
    db = _database(args)
    try:
        user = create_user(db, name, pw)
        if args.admin:
            from piaa.service.membership import set_admin

            set_admin(db, user.id)
    except UserExists:
        print(f"piaa serve users add: the username {name!r} is taken", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    print(f"created {'admin ' if args.admin else ''}account {name}")
    return 0


def run_users_list(args) -> int:
    from piaa.service.membership import members

    db = _database(args)
    try:
        rows = members(db)
    finally:
        db.dispose()
    for m in rows:
        print(f"{m['username']}\t{'admin' if m['is_admin'] else 'member'}\t{m['ratings']} ratings\t"
              f"since {m['created'][:10]}")
    return 0


def _change_account(args, what: str, change) -> int:
    """``change(db, name)`` on the account ``args.name``: 0 when done, 1 with one line when there is no such
    account or the change is refused (a :class:`piaa.errors.InputError`)."""
    from piaa.errors import InputError

    db = _database(args)
    try:
        found = change(db, args.name)
    except InputError as exc:
        print(f"piaa serve users {what}: {exc}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    if not found:
        print(f"piaa serve users {what}: no account {args.name!r}", file=sys.stderr)
        return 1
    return 0


def run_users_role(args) -> int:
    """``users promote NAME`` / ``users demote NAME``: an account signed up with --allow-signup can become an
    admin (and back); the last admin cannot be demoted (nobody could then invite or remove members)."""
    from piaa.service.membership import set_role

    rc = _change_account(args, "promote" if args.admin else "demote",
                         lambda db, name: set_role(db, name, args.admin))
    if rc == 0:
        print(f"{args.name} is now {'an admin' if args.admin else 'a member'}")
    return rc


def run_users_delete(args) -> int:
    from piaa.service.queries import delete_user

    rc = _change_account(args, "delete", delete_user)
    if rc == 0:
        print(f"deleted account {args.name}")
    return rc
