"""JSON Lines and JSON arrays read as a stream (issue 11): the same table as parsing the
whole document, without holding every record (``core/ingest/json_stream.py``)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.errors import InputFileError
from core.ingest import read_posts
from core.ingest.formats import read_table
from core.ingest.formats_json import _flatten, _json_str, find_records
from core.ingest.json_stream import array_items, byte_pieces


def _tweets(n: int = 23) -> list[dict]:
    """Tweet-like records; a field only the last one has; nested users; emoji and CJK."""
    out = []
    for i in range(1, n + 1):
        rec = {"id": 10**17 + i, "text": f"post {i} 台风 🌀 about the flood @user{i % 4}",
               "user": {"screen_name": f"user{i % 4}", "followers_count": i * 7},
               "created_at": f"2024-05-0{1 + i % 9} 08:00:00", "retweet_count": i % 3}
        if i == n:
            rec["place"] = {"full_name": "Brisbane"}  # first seen after every chunk but the last
        out.append(rec)
    return out


def _reference_rows(records: list[dict]) -> tuple[list[str], list[list[str]]]:
    """The header and rows the whole-document reader built (``_records_table``)."""
    flat = [_flatten(r) for r in records]
    header = list(dict.fromkeys(k for r in flat for k in r))
    return header, [[_json_str(r.get(k)) for k in header] for r in flat]


def _all_rows(table, size: int) -> tuple[list[list[str]], list[int]]:
    rows, numbers = [], []
    for r, n in table.chunks(size):
        assert len(r) <= size
        rows += r
        numbers += n
    return rows, numbers


@pytest.mark.parametrize("layout", ["jsonl", "array"])
@pytest.mark.parametrize("size", [1, 5, 1000])
def test_streamed_json_gives_the_whole_documents_rows(layout, size):
    records = _tweets()
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    text = "\n".join(lines) + "\n" if layout == "jsonl" else "[\n" + ",\n".join(lines) + "\n]\n"
    table = read_table(text.encode("utf-8"), f"t.{'jsonl' if layout == 'jsonl' else 'json'}", None)
    assert table.source is not None and table.rows == []  # nothing held before the chunks are asked for
    header, rows = _reference_rows(records)
    assert table.header == header and header[-1] == "place.full_name"
    got, numbers = _all_rows(table, size)
    assert got == rows and numbers == list(range(1, len(records) + 1))
    assert table.rows_read == len(records) and table.format == layout.replace("array", "json")


def test_a_field_seen_only_in_the_last_record_reaches_the_post_table():
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _tweets()).encode("utf-8")
    whole = read_posts(data, filename="t.jsonl", chunk_rows=10**9, file_time="2024-06-01",
                       columns={"author": "place.full_name"})
    parts = read_posts(data, filename="t.jsonl", chunk_rows=4, file_time="2024-06-01",
                       columns={"author": "place.full_name"})
    pd.testing.assert_frame_equal(parts.posts, whole.posts)
    assert parts.posts["author"].iloc[-1] == "Brisbane" and parts.posts["author"].iloc[0] in ("", None)
    assert parts.report.to_dict() == whole.report.to_dict()


def test_a_line_separator_inside_a_post_keeps_the_post():
    # json.dumps(..., ensure_ascii=False) leaves U+2028 raw; str.splitlines used to cut the line there
    records = [{"id": 1, "text": "first line\u2028second line of one post"}, {"id": 2, "text": "another post"}]
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    result = read_posts(data, filename="ls.jsonl", file_time="2024-06-01")
    assert result.posts["post_id"].tolist() == ["1", "2"]
    assert "second line" in result.posts["text"].iloc[0]
    assert not any("not valid JSON" in w for w in result.report.warnings), result.report.warnings


def test_bom_crlf_and_invalid_lines_are_counted_as_before():
    body = '{"id": 1, "text": "a"}\r\n\r\n{broken\r\n{"id": 2, "text": "b"}\r\n'
    table = read_table(("\ufeff" + body).encode("utf-8"), "w.jsonl", None)
    rows, numbers = _all_rows(table, 1)
    assert rows == [["1", "a"], ["2", "b"]] and numbers == [1, 2]
    assert table.dropped == {"invalid JSON line": 1} and table.rows_read == 3
    assert any("1 line(s) that are not valid JSON were dropped (first: line 3)" in w for w in table.warnings)


def test_gb18030_json_lines_stream_from_the_bytes():
    records = [{"id": i, "text": f"台风第{i}号登陆广东"} for i in range(1, 8)]
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("gb18030")
    result = read_posts(data, filename="gbk.jsonl", chunk_rows=3, file_time="2024-06-01")
    assert result.report.encoding == "gb18030"
    assert result.posts["text"].tolist() == [r["text"] for r in records]


@pytest.mark.parametrize("piece", [1, 3, 7, 64])
def test_an_array_split_anywhere_gives_the_same_records(piece):
    doc = [{"tweet": {"id": "1", "full_text": "archive tweet"}}, 12345678901234567890, {"kind": "t3", "data": {"id": "r",
           "title": "reddit thing"}}, {"data": [{"id": "p1", "text": "page post"}]}, {"id": 5, "text": "x\u2028y"},
           3.25, -0.5e-7, 1e5, True, None]
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    expected = [find_records([element]) for element in doc]
    got = [records for _, records in array_items(byte_pieces(text.encode("utf-8"), "utf-8", size=piece))]
    assert got == expected and got[1] == []  # a number split across pieces is one number, not a record
    assert got[5:] == [[]] * 5  # "3." then "25" in the next piece: read on, not a parse error
    assert [r for recs in got for r in recs] == find_records(doc)


@pytest.mark.parametrize("text, message", [
    ("[]", r"e\.json holds no records"),
    ('[{"id": 1, "text": "a"}, {"id": 2, "text": ', r"e\.json is neither JSON nor JSON Lines: line 1, column \d+"),
    ('[{"id": 1, "text": "a"}] [1]', r"e\.json is neither JSON nor JSON Lines: line 1, column 26: Extra data"),
    # an object holding the list, streamed too
    ('{"posts": []}', r"e\.json holds no records"),
    ('{"posts": [{"id": 1, "text": "a"}, {"id": 2, "text": ', r"e\.json is neither JSON nor JSON Lines: line 1"),
    ('{"posts": [{"id": 1, "text": "a"}]} {"x": 1}', r"e\.json is neither JSON nor JSON Lines"),
])
def test_broken_arrays_and_objects_get_the_whole_documents_message(text, message):
    with pytest.raises(InputFileError, match=message):
        read_posts(text.encode("utf-8"), filename="e.json")


def test_a_container_document_is_still_read():
    page = {"data": [{"id": "1", "text": "x api post", "author_id": "9"}], "includes": {"users": [{"id": "9",
            "username": "someone"}]}}
    result = read_posts(json.dumps(page).encode("utf-8"), filename="page.json", file_time="2024-06-01")
    assert result.posts["text"].tolist() == ["x api post"]


@pytest.mark.parametrize("eol", ["\r", "\r\n", "\n"])
def test_json_lines_end_at_any_line_ending_the_csv_reader_knows(eol):
    records = [{"id": str(i), "text": f"post {i}"} for i in range(7)]
    data = eol.join(json.dumps(r) for r in records).encode("utf-8")  # no ending after the last
    result = read_posts(data, filename="old_mac.jsonl", file_time="2024-06-01")
    assert result.posts["text"].tolist() == [r["text"] for r in records] and result.report.format == "jsonl"
    assert result.posts["source_row"].tolist() == list(range(1, 8))


_OBJECTS = {
    # X API v2 page: the authors come after the posts, so the first pass must see the whole object
    "x_api_page": {"data": [{"id": "1", "text": "x api post", "author_id": "9"}, "not a post",
                            {"id": "2", "text": "second", "author_id": "8", "author": {"username": "kept"}},
                            {"id": "3", "text": "third", "author_id": "404"}],
                   "includes": {"users": [{"id": "9", "username": "someone"}, {"id": "8", "username": "other"}]},
                   "meta": {"result_count": 3, "next_token": "abc"}},
    "search_v1": {"search_metadata": {"count": 2}, "statuses": [{"id": 1, "text": "a 台风"}, {"id": 2, "text": "b"}]},
    "one_list_of_posts": {"export": "weibo", "n": 2, "weibo": [{"mid": "m1", "text": "微博一"},
                                                              {"mid": "m2", "text": "微博二"}], "tags": ["x", "y"]},
    "nested_containers": {"items": [{"data": [{"id": "p1", "text": "page post"}]}, {"tweet": {"id": "t",
                          "full_text": "archive"}}, 7, {"id": "i", "text": "plain \u2028 item"}]},
    "empty_list_first": {"errors": [], "posts": [{"id": 1, "text": "after an empty array member"}]},
}


@pytest.mark.parametrize("piece", [1, 5, 64, 1 << 20])
@pytest.mark.parametrize("kind", sorted(_OBJECTS))
def test_an_object_holding_the_posts_is_streamed_with_the_whole_documents_rows(kind, piece):
    """A top-level object holding the list (an X API page, a search result, a crawler's
    {"weibo": [...]}) was parsed whole: 2,047 MB to read a 196 MB file of a million posts
    against 1,378 MB as JSON Lines. It is streamed now, with the same rows in the same order."""
    from core.ingest.json_stream import object_items, object_outline

    text = json.dumps(_OBJECTS[kind], ensure_ascii=False, indent=1)
    pieces = lambda: byte_pieces(text.encode("utf-8"), "utf-8", size=piece)  # noqa: E731
    found = object_outline(pieces())
    assert found is not None
    streamed = [r for _, records in object_items(pieces(), *found) for r in records]
    assert streamed == find_records(json.loads(text))
    table = read_table(text.encode("utf-8"), f"{kind}.json", None)
    assert table.source is not None and table.rows == []  # streamed: nothing held before the chunks
    header, rows = _reference_rows(find_records(json.loads(text)))
    assert table.header == header and _all_rows(table, 2)[0] == rows


def test_an_x_api_page_gets_its_authors_from_includes_after_the_posts():
    text = json.dumps(_OBJECTS["x_api_page"])
    result = read_posts(text.encode("utf-8"), filename="page.json", file_time="2024-06-01")
    assert result.posts["text"].tolist() == ["x api post", "second", "third"]
    assert result.posts["author"].tolist() == ["someone", "kept", None]


@pytest.mark.parametrize("doc", [{"id": 1, "text": "one post on its own"},
                                 {"kind": "Listing", "data": {"children": [{"kind": "t3", "data": {
                                     "id": "r1", "title": "a reddit post", "selftext": "body"}}]}}])
def test_an_object_without_a_list_of_posts_is_read_whole_as_before(doc):
    from core.ingest.json_stream import object_outline

    text = json.dumps(doc)
    assert object_outline([text]) is None
    table = read_table(text.encode("utf-8"), "one.json", None)
    assert table.source is None and len(table.rows) == 1
