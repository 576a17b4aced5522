"""Reading an export in chunks (issue 11): the same table and messages as a whole read.

``read_posts(..., chunk_rows=k)`` parses delimited text from the bytes ``k``
records at a time; every warning and error must still name the record where
a problem first occurs, in whatever chunk it falls.
"""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from core.errors import InputFileError
from core.ingest import read_posts
from core.ingest.formats import read_table


def _export(n: int = 40) -> bytes:
    """A Weibo-like export with problems spread over several chunks of 7 records."""
    lines = ["id,text,likes,author,time"]
    for i in range(1, n + 1):
        text = f"post {i} about the #flood# near the river @user{i % 5} http://t.cn/x{i}"
        likes = str(i)
        if i == 16:
            likes = "lots"  # not a count: record 17 (after the header copy), in the third chunk
        if i == 23:
            text = "转发微博"  # a placeholder
        if i in (30, 31):
            text = "the same words for two posts"  # duplicates across a chunk boundary
        lines.append(f'{100 + i},"{text}",{likes},user{i % 3},2024-05-0{1 + i % 9} 08:00')
        if i == 10:
            lines.append("id,text,likes,author,time")  # a crawler's repeated header: record 11
        if i == 20:
            lines.append("")  # a blank line
    lines.append("999,tail post, with an unquoted comma,3,someone,2024-05-01 08:00")  # record 43
    return ("\n".join(lines) + "\n").encode("utf-8")


def _frames_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("chunk_rows", [1, 7, 500])
def test_chunked_read_equals_the_whole_read(chunk_rows):
    data = _export()
    whole = read_posts(data, filename="weibo.csv", chunk_rows=10**9, file_time="2024-06-01")
    parts = read_posts(data, filename="weibo.csv", chunk_rows=chunk_rows, file_time="2024-06-01")
    _frames_equal(parts.posts, whole.posts)
    assert parts.report.to_dict() == whole.report.to_dict()
    report = parts.report
    # the problems are reported with their record numbers, whatever chunk they fell in
    assert any("'likes' are not counts" in w and "1 value(s)" in w and "first: record 17, 'lots'" in w for w in report.warnings), \
        report.warnings
    assert any("first: record 43" in w and "more fields than the header" in w for w in report.warnings)
    assert report.dropped == {"blank row": 1, "repeated header row": 1}
    assert report.rows_read == 43 and report.n_posts == 41
    posts = parts.posts
    assert posts.loc[posts["post_id"] == "116", "likes"].isna().all()
    assert posts.loc[posts["post_id"] == "116", "source_row"].item() == 17  # record 11 was the header copy
    assert posts.loc[posts["post_id"] == "123", "unscorable_reason"].item() == "placeholder: 转发微博"
    assert posts.loc[posts["post_id"] == "131", "dup_of"].item() == "130"
    assert posts.loc[posts["post_id"] == "101", "hashtags"].item() == ["flood"]
    assert posts.loc[posts["post_id"] == "999", "text"].item() == "tail post, with an unquoted comma"
    assert posts["text"].dtype == "str" and str(posts["hashtags"].dtype).startswith("list<")


def test_a_parse_error_in_a_later_chunk_names_its_record():
    lines = ["id,text"] + [f"{i},short post {i}" for i in range(1, 30)]
    lines[20] = f"20,{'x' * 300}"  # record 20: a field over the (lowered) field size limit
    data = ("\n".join(lines) + "\n").encode()
    old = csv.field_size_limit(200)
    try:
        with pytest.raises(InputFileError, match=r"e\.csv cannot be read as delimited text at record 20"):
            read_posts(data, filename="e.csv", chunk_rows=4)
    finally:
        csv.field_size_limit(old)


def test_delimited_text_is_streamed_from_the_bytes():
    data = "\ufeffnote,,\nid,text,lang\r\n1,\"a post\r\nover two lines\",en\r\n2,第二条微博,zh\r\n".encode("utf-8-sig")
    table = read_table(data, "crlf.csv", None)
    assert table.source is not None and table.rows == []  # nothing parsed before the chunks are asked for
    chunks = list(table.chunks(1))
    assert [numbers for _, numbers in chunks] == [[1], [2]]
    assert chunks[0][0][0] == ["1", "a post\r\nover two lines", "en"]
    assert table.header == ["id", "text", "lang"] and table.header_row == 1
    assert table.warnings[0].startswith("The header is on line 2")


def test_gb18030_export_reads_the_same_in_chunks():
    text = "id,text\n" + "".join(f"{i},台风第{i}号登陆广东\n" for i in range(1, 12))
    data = text.encode("gb18030")
    whole = read_posts(data, filename="gbk.csv", chunk_rows=10**9, file_time="2024-06-01")
    parts = read_posts(data, filename="gbk.csv", chunk_rows=3, file_time="2024-06-01")
    assert whole.report.encoding == "gb18030"
    _frames_equal(parts.posts, whole.posts)
    assert parts.posts["text"].iloc[10] == "台风第11号登陆广东"


def test_xlsx_is_streamed_and_reads_the_same_in_chunks(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "notes"
    notes.append(["exported by a crawler"])  # no known column names: the next sheet has them
    ws = wb.create_sheet("posts")
    ws.append(["Weibo export 2023-10"])
    ws.append(["微博id", "微博正文", "点赞数"])
    for i in range(1, 13):
        ws.append([4890000000000000 + i, f"台风第{i}号", i])
        if i == 4:
            ws.append([])  # record 5: blank
        if i == 8:
            ws.append(["微博id", "微博正文", "点赞数"])  # record 10: a repeated header
    ws.append([])
    ws.append([])  # trailing blank rows: the sheet's formatting, not dropped records
    data_path = tmp_path / "two_sheets.xlsx"
    wb.save(data_path)
    table = read_table(data_path.read_bytes(), "two_sheets.xlsx", None)
    assert table.source is not None and table.rows == []  # nothing parsed before the chunks are asked for
    assert table.header == ["微博id", "微博正文", "点赞数"] and table.header_row == 1
    chunks = list(table.chunks(5))
    assert [len(rows) for rows, _ in chunks] == [5, 5, 2]
    assert [n for _, numbers in chunks for n in numbers] == [1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14]
    assert table.dropped == {"blank row": 1, "repeated header row": 1} and table.rows_read == 14
    assert table.warnings == ["Read the sheet 'posts' of 2 sheets.",
                              "The header is on row 2; the 1 row(s) above it were skipped.",
                              "1 repeated header row(s) inside the sheet were dropped."]
    whole = read_posts(data_path, chunk_rows=10**9, file_time="2024-06-01")
    parts = read_posts(data_path, chunk_rows=2, file_time="2024-06-01")
    _frames_equal(parts.posts, whole.posts)
    assert parts.report.to_dict() == whole.report.to_dict()
    assert parts.posts["text"].tolist() == [f"台风第{i}号" for i in range(1, 13)]
    assert parts.posts["source_row"].tolist()[4] == 6
