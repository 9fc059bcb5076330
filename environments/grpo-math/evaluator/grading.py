"""Grading of model answers to MATH problems: extract the final answer, normalise, compare.

Pure Python (standard library only). A generation in the R1-zero format ends with
`<answer> ... </answer>`; inside it (or anywhere, as a fall-back) a `\\boxed{...}` answer is
preferred. Two answers are equal when their normalised strings match, or when both parse as the
same number (fractions, decimals, percentages and thousands separators included).
"""
import re
from fractions import Fraction


def last_boxed(text):
    """The contents of the last \\boxed{...} (or \\fbox{...}) in text, braces balanced; else None."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0:
        # "\boxed 5" form
        rest = text[start:].split(None, 1)
        return rest[1].split("$")[0].strip() if len(rest) > 1 else None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1:j]
    return None


def extract_answer(generation):
    """The final answer of a generation: the <answer> tag's content (its \\boxed{} if any),
    else the last \\boxed{} anywhere; None when there is neither."""
    tags = re.findall(r"<answer>(.*?)</answer>", generation, flags=re.S)
    if tags:
        inside = tags[-1]
        boxed = last_boxed(inside)
        return (boxed if boxed is not None else inside).strip()
    return last_boxed(generation)


def follows_format(generation):
    """R1-zero format: reasoning, then `</think> <answer> ... </answer>`."""
    return re.search(r"</think>\s*<answer>.*?</answer>", generation, flags=re.S) is not None


_REMOVE = [
    "\\left", "\\right", "\\!", "\\,", "\\;", "\\:", "\\displaystyle", "\\$", "$",
    "^\\circ", "^{\\circ}", "\\%", "%", "°",
]
_UNITS = r"\\(?:text|mbox|mathrm)\{\s*(?:units?|degrees?|cm|m|km|inches|inch|feet|foot|meters?|dollars?|cents?|hours?|minutes?|seconds?|days?|sq\.?\s*units?)\s*\}"


def normalize(answer):
    """A canonical string for an answer (LaTeX spacing, \\text, \\dfrac, units, ... removed)."""
    if answer is None:
        return None
    s = str(answer).strip()
    s = re.sub(_UNITS, "", s)
    s = re.sub(r"\\text\{\s*([^{}]*?)\s*\}", r"\1", s)
    s = re.sub(r"\\(?:mbox|mathrm|textbf)\{\s*([^{}]*?)\s*\}", r"\1", s)
    for token in _REMOVE:
        s = s.replace(token, "")
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = s.replace("\\neq", "\\ne").replace("\\leq", "\\le").replace("\\geq", "\\ge")
    # \frac12 -> \frac{1}{2}, \frac{1}2 -> \frac{1}{2}, \sqrt2 -> \sqrt{2}
    s = re.sub(r"\\frac(\d)(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac\{([^{}]*)\}(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\sqrt(\w)", r"\\sqrt{\1}", s)
    s = s.replace(" ", "")
    s = re.sub(r"^[a-zA-Z]\s*=", "", s)  # "x=5" -> "5"
    s = s.rstrip(".")
    # 1,000,000 -> 1000000 (only commas between digit groups of three)
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", s):
        s = s.replace(",", "")
    if s.startswith("0.") is False and re.fullmatch(r"-?\.\d+", s):
        s = s.replace(".", "0.", 1)
    return s


def as_number(s):
    """A Fraction for integers, decimals, a/b and \\frac{a}{b} (optionally negative); else None."""
    if s is None:
        return None
    m = re.fullmatch(r"(-?)\\frac\{(-?\d+)\}\{(-?\d+)\}", s)
    if m:
        if int(m.group(3)) == 0:
            return None
        value = Fraction(int(m.group(2)), int(m.group(3)))
        return -value if m.group(1) else value
    m = re.fullmatch(r"(-?\d+)/(-?\d+)", s)
    if m:
        return None if int(m.group(2)) == 0 else Fraction(int(m.group(1)), int(m.group(2)))
    try:
        return Fraction(s)
    except (ValueError, ZeroDivisionError):
        return None


def is_equivalent(predicted, reference):
    """Whether a predicted answer means the same as the reference answer."""
    a, b = normalize(predicted), normalize(reference)
    if a is None or b is None or a == "":
        return False
    if a == b:
        return True
    x, y = as_number(a), as_number(b)
    if x is not None and y is not None:
        return x == y
    # Unordered answers such as "3,5" vs "5,3" (lists of solutions).
    if "," in a and "," in b and not any(c in a + b for c in "()[]{}"):
        return sorted(a.split(",")) == sorted(b.split(","))
    return False


def grade(generation, reference):
    """{"format": 0/1, "answer": 0/1} for one generation against the reference answer."""
    return {
        "format": float(follows_format(generation)),
        "answer": float(is_equivalent(extract_answer(generation), reference)),
    }
