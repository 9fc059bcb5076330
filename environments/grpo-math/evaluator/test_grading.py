"""Hand-written cases for grading.py: python3 test_grading.py (exits 1 on a failure)."""
import sys

from grading import extract_answer, follows_format, grade, is_equivalent

CASES_EQUIVALENT = [
    ("\\frac{1}{2}", "\\frac12", True),
    ("\\dfrac{3}{4}", "\\frac{3}{4}", True),
    ("0.5", "\\frac{1}{2}", True),
    ("1/2", "\\frac{1}{2}", True),
    ("1,000", "1000", True),
    ("10\\%", "10", True),
    ("90^\\circ", "90", True),
    ("x = 5", "5", True),
    ("\\text{(B)}", "(B)", True),
    ("5 \\text{ units}", "5", True),
    ("\\sqrt2", "\\sqrt{2}", True),
    ("3, 5", "5,3", True),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})", True),
    ("2", "3", False),
    ("\\frac{1}{3}", "0.33", False),
    ("", "0", False),
    (None, "1", False),
    ("(1,2)", "(2,1)", False),
]

CASES_EXTRACT = [
    ("so </think> <answer> \\boxed{42} </answer>", "42"),
    ("</think> <answer> 7 </answer>", "7"),
    ("The answer is \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}"),
    ("nested \\boxed{\\frac{a}{b^{2}}} end", "\\frac{a}{b^{2}}"),
    ("<answer>1</answer> then <answer>2</answer>", "2"),
    ("no answer at all", None),
]


def main():
    failures = 0
    for predicted, reference, expected in CASES_EQUIVALENT:
        if is_equivalent(predicted, reference) != expected:
            failures += 1
            print(f"FAIL is_equivalent({predicted!r}, {reference!r}) != {expected}")
    for generation, expected in CASES_EXTRACT:
        if extract_answer(generation) != expected:
            failures += 1
            print(f"FAIL extract_answer({generation!r}) = {extract_answer(generation)!r}, want {expected!r}")
    if not follows_format("a b c </think> <answer> 3 </answer>") or follows_format("<answer>3</answer>"):
        failures += 1
        print("FAIL follows_format")
    if grade(" 1+1=2 </think> <answer> 2 </answer>", "2") != {"format": 1.0, "answer": 1.0}:
        failures += 1
        print("FAIL grade")
    total = len(CASES_EQUIVALENT) + len(CASES_EXTRACT) + 2
    print(f"{total - failures}/{total} passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
