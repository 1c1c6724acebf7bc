"""ads.traffic's browser and OS families on real user agents: the parser as it runs (ua-parser on
google-re2, browser and OS only, our in-app rules without lookbehind) against ua-parser's pure-Python
resolver with the in-app rules as they were written before (lookbehind, every domain parsed). Both
must name the same families; the time per user agent is printed for each.

    .venv/bin/python bench/user_agents.py FILE      # one user agent a line, or fake-useragent's browsers.jsonl

Real user agents that this project did not write: fake-useragent's data file (collected from real
browsers), e.g. `pip download --no-deps fake-useragent` and its wheel's fake_useragent/data/browsers.jsonl.
"""
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def user_agents(path: Path) -> list[str]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if path.suffix == ".jsonl":
        return [json.loads(line)["useragent"] for line in lines]
    return lines


def main() -> None:
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_file():
        sys.exit("Give a file of user agents: one a line, or fake-useragent's browsers.jsonl.")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contentlib.config.settings")
    os.environ.setdefault("LOCAL_SECRET_KEY", "1")
    import django  # noqa: PLC0415

    django.setup()
    import ua_parser  # noqa: PLC0415
    from ua_parser.basic import Resolver  # noqa: PLC0415
    from ua_parser.matchers import UserAgentMatcher  # noqa: PLC0415

    from ads import traffic  # noqa: PLC0415

    agents, systems, devices = ua_parser.load_builtins()
    before_rules = [UserAgentMatcher(r"MicroMessenger/(\d+)\.(\d+)(?:\.(\d+))?", "WeChat"),
                    UserAgentMatcher(r"(?<![A-Za-z])QQ/(\d+)\.(\d+)(?:\.(\d+))?", "QQ")]
    before = ua_parser.Parser(Resolver((before_rules + list(agents), list(systems), list(devices))))

    def before_agent(agent: str) -> traffic.Agent:
        result = before.parse(agent[:512])
        browser = result.user_agent.family if result.user_agent else ""
        system = result.os.family if result.os else ""
        return traffic.Agent("" if browser == "Other" else browser, "" if system == "Other" else system)

    distinct = sorted(set(user_agents(Path(sys.argv[1]))))
    started = time.perf_counter()
    now = [traffic.agent_of(agent) for agent in distinct]
    middle = time.perf_counter()
    then = [before_agent(agent) for agent in distinct]
    done = time.perf_counter()
    differ = [(agent, a, b) for agent, a, b in zip(distinct, now, then, strict=True) if a != b]
    for agent, a, b in differ:
        print(f"differs: {agent!r}: now {a}, before {b}")
    print(f"{len(distinct)} distinct user agents, {len(differ)} with other families; "
          f"now {(middle - started) / len(distinct) * 1e6:.0f} µs each, before {(done - middle) / len(distinct) * 1e6:.0f} µs "
          f"each (each user agent once: ua-parser's cache does not help)")


if __name__ == "__main__":
    main()
