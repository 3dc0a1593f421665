#!/usr/bin/env python3
"""Writes the "Latest run" section of BENCHMARKS.md from scripts/bench.sh's
outputs (target/bench/NAME.{txt,err,status,seconds,cmd}): the machine, the
commit, and per benchmark its command and what it printed. The rest of the
file (each benchmark's method, history and reading) is left as it is.

    python3 scripts/bench_write.py BENCHMARKS.md target/bench photo sync ...
"""
import datetime
import os
import platform
import subprocess
import sys

BEGIN = "<!-- bench.sh: latest run, begin (written by scripts/bench.sh; edits here are lost) -->"
END = "<!-- bench.sh: latest run, end -->"

# What each benchmark's section below is called, for the reader.
TITLES = {
    "photo": "Photo pipeline",
    "store": "Device database: encrypted (SQLCipher) vs plain",
    "sync": "Sync server: ingest, bytes stored, own-records pulls",
    "scale": "Several instances: ingest and pull on SQLite and PostgreSQL",
    "report": "Reports and the review queue",
    "crowd": "A crowd scanning one poster",
    "links": "Bad links (issue 14, item 2)",
    "crash": "Crashes at random moments",
    "durability": "Durability of what the person saw as saved",
    "ui": "UI bundle and start-up",
    "size": "App binary size",
}


def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem}, {platform.system()} {platform.release()}, "
        f"{run('rustc', '--version')}; load average at the end {load}"
    )


def section(out_dir, names):
    commit = run("git", "rev-parse", "--short", "HEAD")
    dirty = " (with uncommitted changes)" if run("git", "status", "--porcelain") else ""
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        BEGIN,
        "## Latest run of `bash scripts/bench.sh`",
        "",
        f"- When: {when}; commit `{commit}`{dirty}.",
        f"- Machine: {machine()}.",
        "- Each benchmark's method, earlier figures and reading are in its own section below;",
        "  compare the ratios of one run rather than absolute times, the machines are shared.",
        "",
    ]
    for name in names:
        def read(ext):
            try:
                with open(os.path.join(out_dir, f"{name}.{ext}")) as f:
                    return f.read().strip()
            except OSError:
                return ""

        status = read("status") or "not run"
        lines += [
            f"### {TITLES.get(name, name)} — {status}, {read('seconds') or '?'} s",
            "",
            f"`{read('cmd')}`",
            "",
        ]
        text = read("txt")
        if status != "ok":
            text = (text + "\n" + read("err")).strip()
            text = "\n".join(text.splitlines()[-30:])
        # Keep the figures: markdown tables as they are, other lines as text.
        body = []
        for l in text.splitlines():
            if l.startswith(("running ", "test ", "   Compiling", "    Finished", "     Running")):
                continue
            # One blank line where the output had some: a table needs one before it.
            if l.strip() or (body and body[-1]):
                body.append(l.rstrip())
        while body and not body[-1]:
            body.pop()
        lines += body if body else ["(no output)"]
        lines.append("")
    lines.append(END)
    return "\n".join(lines) + "\n"


def main():
    path, out_dir, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(path) as f:
        text = f.read()
    new = section(out_dir, names)
    if BEGIN in text and END in text:
        a = text.index(BEGIN)
        b = text.index(END) + len(END) + 1
        text = text[:a] + new + text[b:]
    else:
        # After the title and its first paragraph.
        first = text.index("\n## ")
        text = text[: first + 1] + new + "\n" + text[first + 1 :]
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
