"""A new user's first hour, in the README's order, on a fresh clone's configuration.

The configuration is the repository's own `newsmon.yaml` with its example webhook action switched on,
so a rule names `NEWSMON_CT_WEBHOOK_URL` and `NEWSMON_CT_WEBHOOK_SECRET`, neither of them set, and
its feeds pointed at a local server (no network here). Every read-only command works without the
secrets; the commands that send (`run`, `consume alerter`, `alerts retry`) refuse with one line
naming the first variable. The README's search examples run as printed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.pipeline_feeds import serve_feeds

REPO = Path(__file__).resolve().parents[1]
UNSET = ("NEWSMON_CT_WEBHOOK_URL", "NEWSMON_CT_WEBHOOK_SECRET")
MISSING = "environment variable NEWSMON_CT_WEBHOOK_URL is not set (and 1 more)"


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    """A working directory holding the fresh clone's configuration, fed by a local feed server."""
    folder = tmp_path_factory.mktemp("newcomer")
    text = (REPO / "newsmon.yaml").read_text(encoding="utf-8")
    text = text.replace("# - {type: webhook, url_env: NEWSMON_CT", "- {type: webhook, url_env: NEWSMON_CT")
    assert "- {type: webhook, url_env: NEWSMON_CT_WEBHOOK_URL" in text  # the example action is on
    config = yaml.safe_load(text)
    feeds = serve_feeds()
    server = next(feeds)
    config["feeds"] = [{"id": f"local-{i}", "source": feed["source"], **({"country": feed["country"]} if
                        feed.get("country") else {}), "url": server.base + path}
                       for i, (feed, path) in enumerate(zip(config["feeds"], server.files))]
    (folder / "newsmon.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    yield folder
    next(feeds, None)


def newsmon(folder: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in UNSET and not k.startswith("NEWSMON_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "newsmon.cli", *args], cwd=folder, input=stdin, env=env,
                          capture_output=True, text=True, timeout=300)


def ok(folder: Path, *args: str, stdin: str | None = None) -> str:
    done = newsmon(folder, *args, stdin=stdin)
    assert done.returncode == 0, (args, done.stderr[-2000:])
    return done.stdout


def refused(folder: Path, *args: str) -> None:
    done = newsmon(folder, *args)
    assert done.returncode == 2, (args, done.stderr[-2000:])
    assert done.stderr.strip().count("\n") == 0 and MISSING in done.stderr, done.stderr


def readme_search_examples() -> list[list[str]]:
    """The `newsmon search ...` lines of the README's "Searching" block, as argument lists."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Searching", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [shlex.split(line)[1:] for line in block.splitlines() if line.startswith(".venv/bin/newsmon search")]


def test_the_first_hour(desk):
    refused(desk, "run", "--once")  # the example rule's webhook needs its URL: said in one line
    ok(desk, "produce", "--once")
    ok(desk, "consume", "classifier", "--until-idle")
    ok(desk, "consume", "indexer", "--until-idle")
    refused(desk, "consume", "alerter", "--until-idle")

    examples = readme_search_examples()
    assert len(examples) >= 4
    for argv in examples:
        ok(desk, *argv)
    everything = json.loads(ok(desk, "search", "*", "--json", "--limit", "500"))
    assert everything["total"] > 0

    listed = json.loads(ok(desk, "feeds", "list", "--json"))
    assert len(listed) == len(json.loads(ok(desk, "feeds", "check", "--json")))
    assert "<opml" in ok(desk, "feeds", "export-opml")
    assert "lag" in ok(desk, "status") and ok(desk, "dlq", "list") is not None
    rules = ok(desk, "rules", "list")
    assert "missing: NEWSMON_CT_WEBHOOK_URL, NEWSMON_CT_WEBHOOK_SECRET not set" in rules
    assert "matching items" in ok(desk, "rules", "test", "ct-pakistan-frontier")
    assert "no alerts yet" in ok(desk, "alerts", "list")
    refused(desk, "alerts", "retry", "--failed")

    classified = json.loads(ok(desk, "classify", "--text", stdin="TTP militants attacked a police post in Bannu.\n"))
    assert "counterterrorism" in classified["topics"]
    labelled = desk / "labelled.jsonl"
    labelled.write_text(json.dumps({"title": "Militants attack police post in Bannu",
                                    "labels": ["counterterrorism"]}) + "\n", encoding="utf-8")
    assert "macro F1" in ok(desk, "eval", str(labelled))


def test_the_search_page_needs_no_secret(desk):
    env = {k: v for k, v in os.environ.items() if k not in UNSET and not k.startswith("NEWSMON_")}
    page = subprocess.Popen([sys.executable, "-m", "newsmon.cli", "serve", "--port", "0"], cwd=desk,
                            env={**env, "PYTHONPATH": str(REPO)}, stderr=subprocess.PIPE, text=True)
    try:
        url = None
        for line in page.stderr:  # type: ignore[union-attr]
            found = re.search(r"event=web_started url=(\S+)", line)
            if found:
                url = found.group(1)
                break
        assert url, "serve did not start"
        with urllib.request.urlopen(url.rstrip("/") + "/api/search?q=*", timeout=30) as answer:
            assert answer.status == 200 and "stories" in json.loads(answer.read())
    finally:
        page.terminate()
        page.wait(timeout=30)
