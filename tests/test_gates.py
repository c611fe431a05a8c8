"""Promotion gates: parsing, evaluation against a candidate and a champion, and the explanation."""

from __future__ import annotations

import datetime as dt

import pytest

from nbmlops.errors import FilterSyntaxError, InvalidInputError
from nbmlops.query.gates import (
    MAX_DEPTH,
    And,
    Arith,
    Compare,
    Facts,
    Gate,
    In,
    IsNull,
    Literal,
    Not,
    Or,
    Ref,
    evaluate_gate,
    like,
    parse_gate,
    references,
)

NAN, INF = float("nan"), float("inf")

CANDIDATE = Facts(
    metrics={"accuracy": 0.91, "rmse": 3.2, "f1": 0.85, "latency_ms": 70.0, "zero": 0.0, "nan": NAN,
             "inf": INF, "val loss": 0.4, "a.b/c:d-e": 2.0},
    params={"model": "logistic_regression", "debug": False, "debug_text": "true", "epochs": 10, "lr": "0.1",
            "nothing": None, "layers": [64, 32], "same_layers": [64, 32]},
    tags={"team": "vision", "note": "line one\nline two"},
    version=4,
)
CHAMPION = Facts(metrics={"accuracy": 0.93, "rmse": 3.0, "nan": NAN}, params={"model": "xgboost"}, version=3)


def check(text: str, candidate: Facts = CANDIDATE, champion: Facts | None = CHAMPION) -> bool:
    return evaluate_gate(text, candidate, champion).passed


def explain(text: str, candidate: Facts = CANDIDATE, champion: Facts | None = CHAMPION) -> str:
    return evaluate_gate(text, candidate, champion).explanation


@pytest.mark.parametrize("text, passed", [
    ("metrics.accuracy >= champion.metrics.accuracy + 0.01", False),
    ("metrics.accuracy >= champion.metrics.accuracy - 0.05", True),
    ("metrics.rmse < 3.5", True),
    ("metrics.rmse < 3", False),
    ("metrics.f1 > 0.8 and (metrics.latency_ms <= 50 or params.model = 'logistic_regression')", True),
    ("metrics.f1 > 0.9 and (metrics.latency_ms <= 50 or params.model = 'logistic_regression')", False),
    ("metrics.f1 > 0.8 and (metrics.latency_ms <= 50 or params.model = 'xgboost')", False),
    ("metrics.rmse <= champion.metrics.rmse * 0.95", False),
    ("metrics.rmse <= champion.metrics.rmse * 1.1", True),
    ("not params.debug = true", True),
    ("not params.debug = false", False),
    ("params.debug = false", True),
    ("params.debug != true", True),
    ("metrics.a.b/c:d-e = 2", True),
    ("metrics.accuracy - champion.metrics.accuracy < 0.1", True),
    ("metrics.accuracy - champion.metrics.accuracy > 0", False),
    ("metrics.accuracy == 0.91 and metrics.accuracy <> 0.9 and metrics.accuracy != 0.92", True),
    ("params.model > 'a' and params.model < 'm'", True),  # text compares as text
    ("params.epochs = 10.0 and params.epochs >= 10", True),  # int and float are both numbers
    ("metrics.inf > 1e308 and -metrics.inf < -1e308", True),
    ("tags.team = 'vision'", True),
    ("version > champion.version", True),
    ("version = 3", False),
    ("metrics.accuracy > 0.5 or metrics.rmse > 100 and metrics.f1 > 100", True),  # and binds tighter
    ("(metrics.accuracy > 0.5 or metrics.rmse > 100) and metrics.f1 > 100", False),
    ("not not metrics.rmse < 3.5", True),
    ("metrics.rmse>=-1", True),
])
def test_gates_pass_and_fail(text, passed):
    assert check(text) is passed


def test_a_failed_champion_comparison_names_both_values():
    result = evaluate_gate("metrics.accuracy >= champion.metrics.accuracy + 0.01", CANDIDATE, CHAMPION)
    assert not result.passed and result.expression == "metrics.accuracy >= champion.metrics.accuracy + 0.01"
    assert result.explanation == \
        "metrics.accuracy 0.91 >= champion.metrics.accuracy + 0.01 = 0.94 (champion v3): failed"
    assert result.values == {"metrics.accuracy": 0.91, "champion.metrics.accuracy": 0.93}


def test_explanation_lists_every_comparison_in_one_line():
    text = "metrics.f1 > 0.8 and (metrics.latency_ms <= 50 or params.model = 'logistic_regression')"
    assert explain(text) == ("metrics.f1 0.85 > 0.8: passed; metrics.latency_ms 70 <= 50: failed; "
                             "params.model 'logistic_regression' = 'logistic_regression': passed")
    assert explain("metrics.rmse <= champion.metrics.rmse * 0.95") == \
        "metrics.rmse 3.2 <= champion.metrics.rmse * 0.95 = 2.85 (champion v3): failed"
    assert explain("not params.debug = true") == "not params.debug false = true: passed"
    assert explain("metrics.rmse < 3.5", champion=None) == "metrics.rmse 3.2 < 3.5: passed"


def test_values_are_one_line_even_with_line_breaks():
    result = evaluate_gate("tags.note = 'x' and tags.`a\nb` is null", CANDIDATE, None)
    assert "\n" not in result.explanation and r"'line one\nline two'" in result.explanation
    assert result.values == {"tags.note": "line one\nline two", "tags.`a\nb`": None}


def test_without_a_champion_champion_comparisons_pass():
    result = evaluate_gate("metrics.accuracy >= champion.metrics.accuracy + 0.01", CANDIDATE, None)
    assert result.passed
    assert result.explanation == "metrics.accuracy 0.91 >= champion.metrics.accuracy + 0.01: passed (no current holder)"
    assert result.values == {"metrics.accuracy": 0.91, "champion.metrics.accuracy": None}
    assert check("not metrics.rmse < champion.metrics.rmse", champion=None)  # not a "not nobody" failure
    assert check("champion.params.model is null", champion=None)
    assert check("params.model in ('a', champion.params.model)", champion=None)
    # Other comparisons still count.
    assert not check("metrics.accuracy >= champion.metrics.accuracy and metrics.rmse > 100", champion=None)


def test_without_a_champion_the_candidates_own_missing_value_still_fails():
    result = evaluate_gate("metrics.recall >= champion.metrics.recall", CANDIDATE, None)
    assert not result.passed
    assert result.explanation == \
        "metrics.recall >= champion.metrics.recall: failed (metrics.recall is missing on the candidate)"


def test_a_missing_reference_fails_its_comparison_and_says_so():
    result = evaluate_gate("metrics.recall >= 0.9", CANDIDATE, CHAMPION)
    assert not result.passed and result.values == {"metrics.recall": None}
    assert result.explanation == "metrics.recall >= 0.9: failed (metrics.recall is missing on the candidate)"
    assert not check("not metrics.recall >= 0.9")  # unknown stays failed under not
    assert not check("metrics.recall < 0.9")
    assert "champion.metrics.f1 is missing on the champion v3" in explain("metrics.f1 > champion.metrics.f1")
    assert "params.nothing is null on the candidate" in explain("params.nothing = 1")
    assert "version is missing on the candidate" in explain("version > 1", Facts())
    assert check("metrics.recall > 0.9 or metrics.f1 > 0.8")
    assert not check("metrics.recall > 0.9 and metrics.f1 > 0.8")


def test_arithmetic_on_a_missing_value_is_missing():
    result = evaluate_gate("metrics.accuracy - metrics.recall * 2 < 1", CANDIDATE, CHAMPION)
    assert not result.passed
    assert result.explanation == \
        "metrics.accuracy - metrics.recall * 2 < 1: failed (metrics.recall is missing on the candidate)"
    assert check("metrics.recall * 2 is null") and check("params.nothing + 1 is null")


def test_nan_fails_comparisons_and_is_explained():
    assert not check("metrics.nan > 0") and not check("metrics.nan < 0") and not check("not metrics.nan > 0")
    assert explain("metrics.nan > 0") == "metrics.nan NaN > 0: failed (metrics.nan is NaN on the candidate)"
    assert "champion.metrics.nan is NaN on the champion v3" in explain("metrics.f1 > champion.metrics.nan")
    assert not check("metrics.nan * 2 = metrics.nan * 2")
    assert explain("metrics.inf - metrics.inf > 0") == "metrics.inf - metrics.inf = NaN > 0: failed (the result is NaN)"
    assert check("metrics.nan is not null")  # NaN is a value, not an absence


@pytest.mark.parametrize("text, reason", [
    ("params.lr < 0.5", "cannot compare text with a number"),
    ("params.epochs = '10'", "cannot compare a number with text"),
    ("params.debug = 0", "cannot compare true/false with a number"),
    ("params.debug_text = true", "cannot compare text with true/false"),  # "true" the string is not true
    ("params.debug < true", "true/false only compare with = and !="),
    ("params.layers > params.same_layers", "JSON values only compare with = and !="),
    ("params.layers = 'x'", "cannot compare a JSON value with text"),
    ("params.model + 1 > 0", "cannot do arithmetic on text 'logistic_regression' in params.model + 1"),
    ("-params.model < 0", "cannot do arithmetic on text 'logistic_regression' in -params.model"),
    ("params.epochs in ('10', '20')", "cannot compare a number with text"),
])
def test_incompatible_types_fail_with_a_reason(text, reason):
    result = evaluate_gate(text, CANDIDATE, CHAMPION)
    assert not result.passed and result.explanation.endswith(f": failed ({reason})"), result.explanation
    assert not check(f"not ({text})")


def test_json_params_compare_for_equality():
    assert check("params.layers = params.same_layers") and not check("params.layers != params.same_layers")
    assert "params.layers [64, 32]" in explain("params.layers = params.same_layers")


@pytest.mark.parametrize("text, passed", [
    ("1 + 2 * 3 = 7", True),
    ("(1 + 2) * 3 = 9", True),
    ("10 - 2 - 3 = 5", True),   # left to right
    ("8 / 4 / 2 = 1", True),
    ("2 * 3 + 4 * 5 = 26", True),
    ("-2 * -3 = 6", True),
    ("- (1 + 2) = -3", True),
    ("--1 = 1", True),
    ("-metrics.rmse < -3", True),
    ("metrics.rmse * 2 - 1 > 5.3", True),
    ("1 + 2 * 3 = 9", False),
    ("7 / 2 = 3.5", True),      # true division
])
def test_arithmetic_precedence(text, passed):
    assert check(text) is passed


def test_arithmetic_is_shown_with_its_result():
    assert explain("(metrics.rmse + 1) * 2 > 8.3") == "(metrics.rmse + 1) * 2 = 8.4 > 8.3: passed"


def test_division_by_zero_is_missing_and_explained():
    result = evaluate_gate("metrics.accuracy / metrics.zero > 1", CANDIDATE, CHAMPION)
    assert not result.passed
    assert result.explanation == \
        "metrics.accuracy / metrics.zero > 1: failed (division by zero in metrics.accuracy / metrics.zero)"
    assert not check("not metrics.accuracy / 0 > 1") and check("metrics.accuracy / 0 is null")


@pytest.mark.parametrize("text, passed", [
    ("params.model in ('logistic_regression', 'svm')", True),
    ("params.model in ('svm')", False),
    ("params.model not in ('svm', 'tree')", True),
    ("params.model not in ('logistic_regression')", False),
    ("params.epochs in (5, 10.0)", True),
    ("params.epochs in ('ten', 10)", True),          # one equal item decides
    ("params.epochs in ('ten', 20)", False),
    ("params.model in (champion.params.model, 'svm')", False),
    ("metrics.rmse in (3.2, metrics.recall)", True),
    ("metrics.rmse in (1, metrics.recall)", False),  # maybe the missing one: unknown
    ("metrics.rmse not in (1, metrics.recall)", False),
    ("params.debug in (false)", True),
    ("metrics.recall in (1, 2)", False),
    ("metrics.recall not in (1, 2)", False),
])
def test_in_lists(text, passed):
    assert check(text) is passed


def test_in_list_explanation_names_every_item():
    assert explain("params.model in ('svm', champion.params.model)") == \
        "params.model 'logistic_regression' in ('svm', champion.params.model 'xgboost') (champion v3): failed"
    assert explain("metrics.rmse in (1, metrics.recall)").endswith(
        "failed (metrics.recall is missing on the candidate)")


@pytest.mark.parametrize("text, passed", [
    ("metrics.recall is null", True),
    ("metrics.recall is not null", False),
    ("metrics.rmse is null", False),
    ("metrics.rmse is not null", True),
    ("params.nothing is null", True),   # a None param is null
    ("params.debug is not null", True),  # false is a value
    ("metrics.recall = null", True),    # = null means is null
    ("metrics.recall != null", False),
    ("not metrics.recall is null", False),
    ("metrics.recall is null and champion.metrics.recall is null", True),
])
def test_is_null(text, passed):
    assert check(text) is passed


def test_is_null_explanation():
    assert explain("metrics.rmse is null") == "metrics.rmse 3.2 is null: failed"
    assert explain("metrics.recall is not null") == "metrics.recall is not null: failed"


def test_quoted_keys():
    assert check("metrics.`val loss` < 0.5") and check('metrics."val loss" < 0.5')
    assert check("metrics. `val loss` = 0.4")
    assert explain("metrics.`val loss` < 0.5") == "metrics.`val loss` 0.4 < 0.5: passed"
    odd = Facts(metrics={"we`ird": 1.0, 'say "hi"': 2.0, "and": 3.0})
    assert check("metrics.`we``ird` = 1 and metrics.\"say \"\"hi\"\"\" = 2 and metrics.and = 3", odd)
    assert references("metrics.`we``ird` > champion.metrics.`val loss`") == \
        {"metrics.`we``ird`", "champion.metrics.`val loss`"}
    assert check("params.model = 'O''Brien'", Facts(params={"model": "O'Brien"}))


def test_keywords_and_roots_are_case_insensitive():
    assert check("METRICS.rmse < 3.5 AND Params.debug = FALSE Or NOT metrics.f1 > 1")
    assert check("params.model IN ('logistic_regression') AND metrics.recall IS NOT NULL or TRUE = true")
    assert check("Champion.Metrics.rmse = 3 and CHAMPION.VERSION = 3 and Version = 4")
    assert not check("metrics.RMSE < 3.5")  # keys are case-sensitive: metrics.RMSE is missing
    assert references("Champion.Metrics.rmse > 1") == {"champion.metrics.rmse"}


def test_parse_gate_gives_a_tree():
    gate = parse_gate("not metrics.a > 1 + 2 * champion.version or params.m in ('x') and tags.t is not null")
    assert isinstance(gate, Gate) and gate.text.startswith("not metrics.a")
    assert gate.condition == Or((
        Not(Compare(Ref("metrics", "a"), ">", Arith((Literal(1), Arith((Literal(2), Ref("version", "", True)),
                                                                         ("*",))), ("+",)))),
        And((In(Ref("params", "m"), (Literal("x"),)), IsNull(Ref("tags", "t"), negated=True))),
    ))
    assert parse_gate("metrics.a = -1.5e2").condition == Compare(Ref("metrics", "a"), "=", Literal(-150.0))
    assert evaluate_gate(parse_gate("metrics.rmse < 3.5"), CANDIDATE, None).passed


def test_references():
    assert references("metrics.accuracy >= champion.metrics.accuracy + 0.01") == \
        {"metrics.accuracy", "champion.metrics.accuracy"}
    assert references("version > champion.version and (params.a in (tags.b, 1) or not metrics.c is null)") == \
        {"version", "champion.version", "params.a", "tags.b", "metrics.c"}
    assert references("1 + 2 = 3") == set()
    assert references(parse_gate("metrics.a.b/c:d-e > 0")) == {"metrics.a.b/c:d-e"}


def test_the_documented_error_message():
    with pytest.raises(FilterSyntaxError) as caught:
        parse_gate("metrics.acc >= ")
    assert str(caught.value) == "bad gate at column 16: expected a value after '>=' in \"metrics.acc >= \""
    assert caught.value.position == 15 and caught.value.text == "metrics.acc >= "


@pytest.mark.parametrize("text, position, words", [
    ("", 0, "empty gate"),
    ("   ", 0, "empty gate"),
    ("metrics.a > 'abc", 12, "unterminated string"),
    ("metrics.a > 'it''s", 12, "unterminated string"),
    ("metrics.`abc > 1", 8, "unterminated quoted key"),
    ("foo.bar > 1", 0, "unknown reference 'foo.bar'; valid references are metrics.<key>, params.<key>, "
                       "tags.<key>, version, and each of them after 'champion.'"),
    ("champion.foo > 1", 0, "unknown reference 'champion.foo'; valid references are metrics.<key>"),
    ("champion.champion.metrics.a > 1", 0, "unknown reference"),
    ("accuracy > 1", 0, "unknown reference 'accuracy'"),
    ("metrics > 1", 0, "unknown reference 'metrics'"),
    ("version.x > 1", 0, "unknown reference 'version.x'"),
    ("metrics.a > 1 + foo.bar", 16, "unknown reference 'foo.bar'"),
    ("metrics. > 1", 9, "expected a key name after 'metrics.'"),
    ("metrics.a =~ 1", 10, "unknown operator '=~'"),
    ("metrics.a && metrics.b > 1", 10, "unknown operator '&&' (use 'and')"),
    ("metrics.a => 1", 10, "unknown operator '=>' (use '>=')"),
    ("metrics.a 0.5", 10, "expected a comparison (= != < <= > >= in is) after 'metrics.a', found '0.5'"),
    ("metrics.a", 9, "expected a comparison"),
    ("metrics.a + 1", 13, "expected a comparison (= != < <= > >= in is) after 'metrics.a + 1'"),
    ("metrics.a and metrics.b > 1", 10, "expected a comparison (= != < <= > >= in is) after 'metrics.a', found 'and'"),
    ("not metrics.a", 13, "expected a comparison"),
    ("(metrics.a > 1 and metrics.b)", 28, "after 'metrics.b', found ')'"),
    ("metrics.a > ", 12, "expected a value after '>'"),
    ("metrics.a > and", 12, "expected a value after '>', found 'and'"),
    ("metrics.a > 1 and", 17, "expected a condition after 'and'"),
    ("metrics.a > 1 and or", 18, "expected a condition after 'and', found 'or'"),
    ("and metrics.a > 1", 0, "expected a condition, found 'and'"),
    ("metrics.a > 1 *", 15, "expected a value after '*'"),
    ("metrics.a > 1 ** 2", 15, "expected a value after '*', found '*'"),
    ("metrics.a > +1", 12, "expected a value after '>', found '+'"),
    ("params.m = adam", 11, "unknown reference 'adam'"),
    ('params.m = "adam"', 11, "text values take single quotes: 'adam'"),
    ("(metrics.a > 1", 14, "missing ')' to close the '(' at column 1"),
    ("(metrics.a > 1 or (metrics.b > 1)", 33, "missing ')' to close the '(' at column 1"),
    ("(metrics.a > 1 metrics.b", 15, "missing ')' to close the '(' at column 1, found 'metrics.b'"),
    ("metrics.a > 1)", 13, "unmatched ')'"),
    ("metrics.a > 1 metrics.b > 1", 14, "unexpected 'metrics.b' after a complete condition"),
    ("metrics.a > 1 > 2", 14, "unexpected '>' after a complete condition"),
    ("metrics.a > (metrics.b > 1)", 12, "expected a value after '>', found a condition"),
    ("(metrics.a > 1) = true", 16, "a condition cannot be compared; '=' needs a value on its left"),
    ("(metrics.a > 1) + 1 > 2", 16, "a condition cannot be used with '+'"),
    ("-(metrics.a > 1) = 1", 0, "a condition cannot be used with '-'"),
    ("metrics.a > null", 12, "'> null' never holds; use 'is null' or 'is not null'"),
    ("metrics.a + null = 1", 12, "null cannot be used with '+'"),
    ("metrics.a in (1, null)", 17, "null cannot be in an in-list"),
    ("metrics.a in ()", 14, "empty in-list"),
    ("metrics.a in (1 2)", 16, "expected ',' or ')' in the in-list"),
    ("metrics.a in 1", 13, "expected '(' after 'in'"),
    ("metrics.a not in 1", 17, "expected '(' after 'not in'"),
    ("metrics.a in (metrics.b > 1)", 24, "expected ',' or ')' in the in-list"),
    ("metrics.a in ((metrics.b > 1))", 14, "expected a value after '(', found a condition"),
    ("metrics.a is nul", 13, "expected 'null' after 'is'"),
    ("metrics.a is not 1", 17, "expected 'null' after 'is not'"),
    ("metrics.a not = 1", 14, "expected 'in' after 'metrics.a not'"),
    # `like` and the run attributes came from the where dialect, with its messages.
    ("metrics.a like 'x%'", 0, "'metrics.a' is a number; 'like' works on text"),
    ("champion.version like 'x%'", 0, "'champion.version' is a number; 'like' works on text"),
    ("duration not like 'x%'", 0, "'duration' is a number; 'like' works on text"),
    ("params.a like x", 14, "expected a quoted pattern after 'like', e.g. 'resnet%'"),
    ("params.a + 1 like 'x'", 0, "'like' matches the text of a field, e.g. params.model like 'resnet%'; "
                                 "'params.a + 1' is not one"),
    ("start_time > 'yesterday'", 13, "start_time needs a date such as '2024-05-01' or '2024-05-01 13:30:00'"),
    ("'2024-13-01' < champion.end_time", 0, "end_time needs a date such as"),
    ("duration > '1h'", 11, "duration is in seconds; compare it with a number, not '1h'"),
    ("status in ('FINISHED', 1)", 23, "status is text; quote the value: '1'"),
    ("name = true", 7, "'name' holds text; true/false only compare with params"),
    ("name.x = 'a'", 0, "unknown reference 'name.x'"),
    ("metrics.a\n>\n", 12, "expected a value after '>'"),
])
def test_syntax_errors_name_what_and_where(text, position, words):
    with pytest.raises(FilterSyntaxError) as caught:
        parse_gate(text)
    message = str(caught.value)
    assert caught.value.position == position, message
    assert message.startswith(f"bad gate at column {position + 1}: ") and words in message, message
    assert "\n" not in message and caught.value.text == text


def test_syntax_errors_surface_from_evaluate_and_references():
    with pytest.raises(FilterSyntaxError, match="unknown reference 'foo.bar'"):
        evaluate_gate("foo.bar > 1", CANDIDATE, CHAMPION)
    with pytest.raises(FilterSyntaxError, match="column 13"):
        references("metrics.a > ")


def test_long_input_shows_a_short_excerpt():
    text = "metrics.a > 1 and " * 20 + "metrics.b > "
    with pytest.raises(FilterSyntaxError) as caught:
        parse_gate(text)
    assert caught.value.position == len(text) and len(str(caught.value)) < 200


def test_input_size_and_type_limits():
    with pytest.raises(FilterSyntaxError, match="the gate is 10001 characters long; the limit is 10000"):
        parse_gate("metrics.a > 1" + " " * 9988)
    assert parse_gate("metrics.a > 1" + " " * 9987).text.startswith("metrics.a")
    with pytest.raises(InvalidInputError, match="a gate must be a string, got int"):
        parse_gate(42)  # type: ignore[arg-type]


def test_nesting_depth_is_limited_not_a_crash():
    assert check("(" * MAX_DEPTH + "metrics.rmse < 3.5" + ")" * MAX_DEPTH)
    assert check("not " * MAX_DEPTH + "metrics.rmse < 3.5")
    assert check("metrics.rmse < " + "(" * MAX_DEPTH + "3.5" + ")" * MAX_DEPTH)
    assert check("-" * MAX_DEPTH + "1 = 1")
    assert check("(-" * 50 + "metrics.rmse" + ")" * 50 + " = 3.2")
    for text in ("(" * 101 + "metrics.a > 1" + ")" * 101, "(" * 5000, "not " * 2000 + "metrics.a > 1",
                 "-" * 101 + "1 = 1", "metrics.a > " + "(-" * 60 + "1" + ")" * 60):
        with pytest.raises(FilterSyntaxError, match="nested deeper than 100"):
            parse_gate(text)


def test_long_flat_chains_are_fine():
    many = " or ".join(f"metrics.rmse = {i}" for i in range(400))
    assert not check(many) and check(many + " or metrics.rmse = 3.2")
    assert check(" + ".join(["1"] * 2400) + " = 2400")
    assert check(" and ".join(["not metrics.rmse > 4"] * 400))


RUN = Facts(params={"model": "resnet_50", "epochs": 10}, metrics={"acc": 0.9}, version=2,
           tags={"epochs": "12", "lr": " 1e-2", "name": "x1"}, attributes={
    "name": "brave-owl", "status": "FINISHED", "experiment": "churn", "user": "ana", "host": None,
    "start_time": dt.datetime(2024, 5, 1, 13, 30), "end_time": dt.datetime(2024, 5, 1, 13, 30, 0, 500000),
    "duration": 0.5, "run_id": "ab12", "parent_run_id": None, "notebook": "train.ipynb"})
HOLDER = Facts(version=1, attributes={"name": "calm-fox", "status": "FINISHED", "start_time": dt.datetime(2024, 4, 1),
                                      "end_time": None, "duration": 3600.0})


@pytest.mark.parametrize("text, passed", [
    ("params.model like 'resnet%'", True),
    ("params.model like 'resnet_5_'", True),
    ("params.model like 'RESNET%'", False),  # case counts, as in DuckDB
    ("params.model not like '%net'", True),
    ("params.model like '%'", True),
    ("params.model like 'resnet\\_50'", False),  # no escape character: the backslash is itself
    ("not params.model like 'x%'", True),
    ("name like '%owl' and experiment = 'churn' and user in ('ana', 'bo')", True),
    ("status = 'finished' and status like 'fin%' and status != 'running'", True),  # upper-cased, as sql.py binds it
    ("status < 'g'", True),
    ("start_time >= '2024-05-01' and start_time < '2024-05-01T15:31:00+02:00'", True),  # dates in UTC
    ("start_time = '2024-05-01 13:30:00'", True),
    ("end_time like '2024-05-01 13:30:00.5'", True),  # a time as DuckDB writes it
    ("start_time like '% 13:30:00'", True),
    ("duration < 1 and duration >= 0.5", True),
    ("host is null and parent_run_id is null and notebook is not null", True),
    ("host = 'x' or not host = 'x'", False),  # null: unknown either way, as in SQL
    ("start_time > champion.start_time and duration < champion.duration", True),
    ("name != champion.name and version > champion.version", True),
    ("champion.end_time is null", True),  # the champion's run is still running
    ("champion.end_time < '2025-01-01'", False),
    ("tags.epochs > 9 and tags.epochs in (12, 13) and tags.lr < 0.1", True),  # a tag next to numbers is read as one
    ("tags.epochs > '9'", False),  # and as text next to text
    ("tags.name > 1 or not tags.name > 1", False),  # a tag that is no number is unknown
])
def test_like_and_run_attributes(text, passed):
    result = evaluate_gate(text, RUN, HOLDER)
    assert result.passed is passed, result.explanation


def test_like_and_attributes_are_explained():
    text = "params.model like 'res%' and start_time > '2024-06-01' and champion.end_time < '2025-01-01'"
    assert explain(text, RUN, HOLDER) == (
        "params.model 'resnet_50' like 'res%': passed; start_time 2024-05-01 13:30:00 > '2024-06-01': failed; "
        "champion.end_time < '2025-01-01' (champion v1): failed (champion.end_time is null on the champion v1)")
    values = evaluate_gate("start_time > '2024-06-01'", RUN, None).values
    assert values == {"start_time": dt.datetime(2024, 5, 1, 13, 30)}


@pytest.mark.parametrize("text, reason", [
    ("params.epochs like '1%'", "'like' works on text, not a number"),
    ("start_time > params.model", "cannot compare a time with text"),
    ("start_time + 1 > 0", "cannot do arithmetic on a time 2024-05-01 13:30:00 in start_time + 1"),
    ("name like 'x%'", "name is missing on the candidate"),
])
def test_like_and_attributes_fail_with_a_reason(text, reason):
    assert reason in explain(text, CANDIDATE if text.startswith("name") else RUN, HOLDER)


def test_a_champion_attribute_without_a_champion_is_waived():
    assert check("start_time > champion.start_time", RUN, None)
    assert "no current holder" in explain("champion.name like 'x%'", RUN, None)


def test_a_time_with_a_zone_reads_as_utc():
    zoned = Facts(attributes={"start_time": dt.datetime(2024, 5, 1, 15, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))})
    assert check("start_time = '2024-05-01 13:30:00Z'", zoned, None)


@pytest.mark.parametrize("text, pattern, matches", [
    ("", "", True), ("", "%", True), ("x", "", False), ("abc", "a%c", True), ("abc", "a_c", True),
    ("ac", "a_c", False), ("a\nb", "a_b", True), ("é", "_", True), ("aaaa", "%a%a%a%a%", True),
    ("a" * 2000, "%a" * 500 + "b", False),  # many '%' cost no exponential backtracking
])
def test_like_matches_as_duckdb(text, pattern, matches):
    assert like(text, pattern) is matches
