"""Adds up pytest's JUnit XML reports into the one closing line CI's landing check reads:
`suites: N passed, M failed, K skipped` (errors count as failed)."""

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
        print(f"{path}: {p} passed, {f} failed, {s} skipped", file=sys.stderr)
        passed, failed, skipped = passed + p, failed + f, skipped + s
    print(f"suites: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
