"""Rules of every kind in the configuration: their keys and defaults, and one-line errors naming the
file, the rule and the field (exit code 2 from the command line)."""

import subprocess
import sys

import pytest

from pipeline.errors import ConfigError
from pipeline.settings import load_settings

KINDS = """
rules:
  - {name: plain, query: Quetta}
  - name: ct-spike
    kind: spike
    query: 'attack OR blast'
    topics: [counterterrorism]
    countries: [PK]
    window: 1h
    baseline_windows: 24
    min_stories: 5
    ratio: 3
    baseline_floor: 0.5
    group_by: locations.name
  - {name: busy, kind: frequency, window: 30m, min_stories: 10, group_by: source, grace: 0s}
  - {name: quiet, kind: flatline, window: 6h, min_stories: 2, sources: [Dawn]}
  - {name: new-groups, kind: new_term, field: entities.groups, lookback: 90d, warmup: 7d}
  - {name: new-orgs, kind: new_term, field: entities.organizations}
"""


def write(tmp_path, text):
    path = tmp_path / "newsmon.yaml"
    path.write_text(text)
    return path


def test_every_kind_and_its_defaults(tmp_path):
    plain, spike, busy, quiet, groups, orgs = load_settings(write(tmp_path, KINDS), {}).rules
    assert plain.kind == "item" and plain.window is None
    assert (spike.kind, spike.window, spike.grace, spike.baseline_windows, spike.min_stories, spike.ratio,
            spike.baseline_floor, spike.group_by) == ("spike", 3600, 600, 24, 5, 3.0, 0.5, "locations.name")
    assert (busy.window, busy.min_stories, busy.group_by, busy.grace) == (1800, 10, "source", 0)
    assert (quiet.kind, quiet.window, quiet.min_stories, quiet.group_by) == ("flatline", 21600, 2, None)
    assert (groups.term_field, groups.lookback, groups.warmup) == ("entities.groups", 90 * 86400, 7 * 86400)
    assert (orgs.lookback, orgs.warmup) == (30 * 86400, 0)


@pytest.mark.parametrize("rule, message", [
    ("{name: r, kind: burst}", r"rules\[0\] \(r\).kind: expected one of item, spike, frequency, flatline, new_term"),
    ("{name: r, kind: spike}", r"rules\[0\] \(r\).window: required for a spike rule"),
    ("{name: r, kind: spike, window: soon}", r"\(r\).window: not a duration: 'soon'"),
    ("{name: r, kind: spike, window: 10s}", r"\(r\).window: must be at least 60s$"),
    ("{name: r, kind: spike, window: 1h, grace: later}", r"\(r\).grace: not a duration"),
    ("{name: r, kind: spike, window: 1h, windows: 24}", r"\(r\).windows: unknown key for a spike rule \(known: "),
    ("{name: r, kind: spike, window: 1h, digest: 1h}", r"\(r\).digest: unknown key for a spike rule"),
    ("{name: r, kind: spike, window: 1h, ratio: 0.5}", r"\(r\).ratio: expected a value from 1 to 1000"),
    ("{name: r, kind: spike, window: 1h, baseline_windows: 2.5}", r"\(r\).baseline_windows: expected a whole number"),
    ("{name: r, kind: spike, window: 1h, baseline_floor: 0}", r"\(r\).baseline_floor: expected a value from 0.01"),
    ("{name: r, kind: spike, window: 1h, group_by: province}", r"\(r\).group_by: expected one of countries, "),
    ("{name: r, kind: frequency, window: 1h}", r"\(r\).min_stories: required for a frequency rule"),
    ("{name: r, kind: frequency, window: 1h, min_stories: 0}", r"\(r\).min_stories: expected a value from 1"),
    ("{name: r, kind: flatline, window: 1h, min_stories: 1, group_by: source}",
     r"\(r\).group_by: unknown key for a flatline rule"),
    ("{name: r, kind: new_term}", r"\(r\).field: required for a new_term rule"),
    ("{name: r, kind: new_term, field: title}", r"\(r\).field: expected one of countries, locations.name"),
    ("{name: r, kind: new_term, field: entities.groups, lookback: 10m}", r"\(r\).lookback: must be at least 3600s"),
    ("{name: r, kind: new_term, field: entities.groups, window: 1h}", r"\(r\).window: unknown key for a new_term"),
    ("{name: r, window: 1h}", r"\(r\).window: unknown key \(known: actions, body_template, countries, digest, enabled,"
                              r" entities, feed_health, kind, min_score, name, query, realert, severity, skip_marked_no,"
                              r" sources, title_template, topics\)"),
])
def test_errors_name_the_file_rule_and_field(tmp_path, rule, message):
    path = write(tmp_path, f"rules: [{rule}]\n")
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(path, {})
    assert "\n" not in str(info.value) and str(info.value).startswith(str(path))


def test_a_bad_rule_kind_in_rules_dir_exits_2_with_one_line(tmp_path):
    (tmp_path / "rules.d").mkdir()
    (tmp_path / "rules.d" / "ct.yaml").write_text("- {name: ok}\n- {name: ct-spike, kind: spike, window: hourly}\n")
    config = write(tmp_path, "rules_dir: rules.d\n")
    done = subprocess.run([sys.executable, "-m", "newsmon.cli", "rules", "list", "-c", str(config)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "rules.d/ct.yaml: rules[1] (ct-spike).window: not a duration: 'hourly'" in done.stderr


def test_rules_list_describes_each_kind(tmp_path):
    config = write(tmp_path, f"state: sqlite:///{tmp_path}/state.db\nlog: sqlite:///{tmp_path}/log.db\n" + KINDS)
    done = subprocess.run([sys.executable, "-m", "newsmon.cli", "rules", "list", "-c", str(config)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if not line.startswith("    ")]
    assert lines[0] == "plain [enabled] query='Quetta' severity=warning realert=never digest=off"
    assert lines[1].startswith("ct-spike [enabled] kind=spike window=1h grace=10m min_stories=5 ratio=3"
                               " baseline_windows=24 baseline_floor=0.5 group_by=locations.name query=")
    assert "kind=flatline window=6h grace=10m min_stories=2 query='*'" in lines[3]
    assert "kind=new_term field=entities.groups lookback=90d warmup=7d" in lines[4]
