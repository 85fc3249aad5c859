#!/usr/bin/env python3
"""The shell commands of README.md, for t_readme.sh.

usage: readme_blocks.py README OUTDIR

Reads every ```sh (or ```bash) block of README and writes:
  OUTDIR/commands  one line per command: "LINE<TAB>MARK<TAB>COMMAND", MARK
                   being "run" (the block is marked <!-- run: t_readme -->),
                   "test:NAME" (<!-- test: NAME -->: the commands appear in
                   tests/integration/NAME.sh) or "-" (no mark);
  OUTDIR/run-N.sh  the text of each block marked run, N from 1, with a
                   first line "# README line L";
  OUTDIR/json-L.json  each ```json block, L its first line.
A command is a line, with its continuation lines (a trailing backslash)
joined and a trailing comment dropped; a here-document's body belongs to
its command.  A plain assignment (NAME=VALUE, no spaces, no command
substitution) is a setting the reader chooses, not a command.
"""
import os
import re
import sys

MARK = re.compile(r"^<!--\s*(run|test):\s*(\S+)\s*-->$")
FENCE = re.compile(r"^```(sh|bash|json)\s*$")
HEREDOC = re.compile(r"<<-?\s*'?\"?([A-Za-z_]+)'?\"?")
SETTING = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=[^\s`]*$")
COMMENT = re.compile(r"(^|\s+)#(\s.*)?$")


def commands(lines, first):
    """(line number, command) for each command of a block's lines."""
    out = []
    i = 0
    while i < len(lines):
        start = first + i
        text = lines[i]
        while text.endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text[:-1] + " " + lines[i].strip()
        i += 1
        text = COMMENT.sub("", text).strip()
        if not text:
            continue
        m = HEREDOC.search(text)
        if m:
            while i < len(lines) and lines[i].strip() != m.group(1):
                i += 1
            i += 1
        if SETTING.match(text) and "$(" not in text:
            continue
        out.append((start, " ".join(text.split())))
    return out


def main():
    readme, outdir = sys.argv[1], sys.argv[2]
    with open(readme, encoding="utf-8") as f:
        lines = f.read().split("\n")
    cmds = []
    nrun = 0
    mark = None
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        m = MARK.match(line)
        if m:
            mark = m.group(1) if m.group(1) == "run" else "test:" + m.group(2)
            if m.group(1) == "run" and m.group(2) != "t_readme":
                sys.exit(f"{readme}:{i + 1}: only t_readme runs blocks")
            i += 1
            continue
        if FENCE.match(line):
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            body = lines[i + 1:j]
            if FENCE.match(line).group(1) == "json":
                with open(os.path.join(outdir, f"json-{i + 2}.json"), "w") as f:
                    f.write("\n".join(body) + "\n")
                i = j + 1
                mark = None
                continue
            for n, c in commands(body, i + 2):
                cmds.append((n, mark or "-", c))
            if mark == "run":
                nrun += 1
                with open(os.path.join(outdir, f"run-{nrun}.sh"), "w") as f:
                    f.write(f"# README line {i + 2}\n" + "\n".join(body) + "\n")
            i = j + 1
            mark = None
            continue
        if line:
            mark = None
        i += 1
    with open(os.path.join(outdir, "commands"), "w") as f:
        for n, m, c in cmds:
            f.write(f"{n}\t{m}\t{c}\n")


main()
