#!/usr/bin/env python3
"""Writes a program's man page from its own --help, so the two cannot drift.

  manpage.py PROGRAM SECTION VERSION OUT SUMMARY [--commands]

Runs `PROGRAM --help`. Its first line (`Usage: ...`) is the synopsis, the
paragraph after it the description, and every later block (`Flags:`,
`Commands:`, `Exit codes: ...`) a section of its own. With --commands, each
command the `Commands:` block lists also gets `PROGRAM COMMAND --help`, under
COMMANDS. The build runs this after linking (CMakeLists.txt: attest_manpage).
"""
import re
import subprocess
import sys


def roff_escape(text):
    # Backslashes first; a leading dot or quote would be a request.
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + line) if line[:1] in (".", "'") else line
                     for line in text.split("\n"))


def help_of(argv):
    done = subprocess.run(argv + ["--help"], capture_output=True, text=True, check=False)
    text = done.stdout + done.stderr
    if done.returncode != 0 or not text.strip():
        sys.exit(f"manpage.py: {' '.join(argv)} --help exited {done.returncode}")
    return text.rstrip("\n")


def blocks(text):
    """Paragraphs separated by blank lines."""
    return [b.strip("\n") for b in re.split(r"\n\s*\n", text) if b.strip()]


def literal(text):
    return ".nf\n" + roff_escape(text) + "\n.fi\n"


def main():
    if len(sys.argv) not in (6, 7):
        sys.exit(__doc__)
    program, section, version, out, summary = sys.argv[1:6]
    with_commands = len(sys.argv) == 7 and sys.argv[6] == "--commands"
    name = program.rsplit("/", 1)[-1]
    parts = blocks(help_of([program]))
    usage = parts[0]
    synopsis = re.sub(r"^Usage:\s*", "", usage.split("\n")[0])
    is_heading = len(parts) > 1 and parts[1].split("\n")[0].rstrip().endswith(":")
    description = parts[1] if len(parts) > 1 and not is_heading else ""
    rest = parts[2:] if description else parts[1:]
    page = [
        f'.TH {name.upper()} {section} "" "attest {version}" "attest"',
        ".SH NAME",
        f"{roff_escape(name)} \\- {roff_escape(summary)}",
        ".SH SYNOPSIS",
        literal(synopsis).rstrip("\n"),
    ]
    if description:
        page += [".SH DESCRIPTION", roff_escape(description.replace("\n", " "))]
    commands = []
    for block in rest:
        head, _, body = block.partition("\n")
        title = head.rstrip(":").strip()
        if head.rstrip().endswith(":") and len(title) < 40:
            page += [f".SH {roff_escape(title.upper())}", literal(body).rstrip("\n")]
            if title == "Commands":
                commands = [line.split()[0] for line in body.split("\n")
                            if line.startswith("  ") and line.strip() and
                            not line.startswith("    ")]
        else:
            page += [".PP", literal(block).rstrip("\n")]
    if with_commands and commands:
        page.append(".SH COMMAND DETAILS")
        seen = set()
        for command in commands:
            if command in seen:
                continue
            seen.add(command)
            page += [f".SS {roff_escape(name + ' ' + command)}",
                     literal(help_of([program, command])).rstrip("\n")]
    page += [".SH SEE ALSO",
             "attestd(8), attest\\-agent(8), attestctl(1); /usr/share/doc/attest"]
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(page) + "\n")


if __name__ == "__main__":
    main()
