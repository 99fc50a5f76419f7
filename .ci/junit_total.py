"""Adds up pytest's JUnit XML reports into the one closing line CI's landing check reads:
a plain last line `N passed, M failed` (errors count as failed; skips are on the line
before, with each suite's figures)."""

import sys
import xml.etree.ElementTree as ET  # nosec B405 -- our own pytest's reports, not input


def totals(path: str) -> tuple[int, int, int]:
    root = ET.parse(path).getroot()  # nosec B314 -- as above
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    tests = failed = skipped = 0
    for suite in suites:
        tests += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return tests - failed - skipped, failed, skipped


def main(paths: list[str]) -> int:
    passed = failed = skipped = 0
    for path in paths:
        p, f, s = totals(path)
        print(f"{path}: {p} passed, {f} failed, {s} skipped")
        passed, failed, skipped = passed + p, failed + f, skipped + s
    print(f"both suites: {skipped} skipped")
    print(f"{passed} passed, {failed} failed")  # last: the line the landing check reads
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
