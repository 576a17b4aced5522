"""core.ingest on the small fixtures of tests/data/ingest/ (one per export layout) and on
files built in the tests: formats, encodings, header search, quoting, column roles,
IDs, numbers, times, text hygiene, placeholders, duplicates, the report and errors."""

from __future__ import annotations

import codecs
import csv
import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from core.errors import ColumnError, InputFileError
from core.ingest import collapse_duplicates, dataset_hash, read_posts
from core.ingest.clean import clean_text
from core.ingest.decode import decode_bytes, looks_like_mojibake
from core.ingest.ids import clean_id
from core.ingest.values import parse_count, parse_times
from core.schema import POST_COLUMNS, ROLES

DATA = Path(__file__).resolve().parent / "data" / "ingest"


def write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


# ---------------------------------------------------------------- one fixture per layout

LAYOUTS = [
    # file, layout, text column, id column, n_posts, first post_id, first text
    ("weibo_crawler.csv", "weibo", "微博正文", "id", 8, "4890000000000001", "#杭州亚运会闭幕式#烟花太美了，西湖边看得清清楚楚"),
    ("twint.csv", "twint", "tweet", "id", 3, "1710000000000000001",
     "The closing ceremony fireworks in Hangzhou were unreal #AsianGames"),
    ("snscrape.jsonl", "snscrape", "rawContent", "id", 2, "1600000000000000001",
     "Midjourney v5 hands look so much better now"),
    ("x_api_v2.json", "x-api", "note_tweet.text", "id", 2, "1700000000000000001",
     "New LFP battery recycling rules announced today"),
    ("x_api_v1.jsonl", "x-api", "full_text", "id_str", 2, "1712000000000000001",
     "Carmaker earnings beat estimates, battery costs down 10% & margins up"),
    ("x_archive/tweets.js", "x-archive", "full_text", "id_str", 3, "1300000000000000001",
     "My first post about the mascot"),
    ("twarc.csv", "twarc-csv", "text", "id", 2, "1690000000000000001",
     "Line one\nLine two about the opening ceremony & the drones"),
    ("crowdtangle.csv", "crowdtangle", "Message", None, 3, None, "Battery breakthrough: 10-minute charging"),
    ("meltwater.csv", "meltwater", "Hit Sentence", "Tweet Id", 3, "1641000000000000001",
     "Mascots of the Games are everywhere in the metro"),
    ("reddit.jsonl", "reddit", "title", "id", 4, "abc123",
     "Stable Diffusion vs Midjourney for product shots?\n\nI need clean backgrounds. Which one is easier?"),
    ("crisislex_t26.csv", "crisislex", "Tweet Text", "Tweet ID", 4, "300000000000000001",
     "Flood water rising near the bridge, stay away http://t.co/abc"),
    ("crisislex_t6.csv", "crisislex", "tweet", "tweet id", 3, "262000000000000001",
     "Sandy knocked our power out, candles ready"),
    ("nlpcc.tsv", "nlpcc", "TEXT", "ID", 5, "1", "禁摩以后送外卖只能骑自行车\n饭都凉了"),
    ("gb18030.csv", "weibo", "微博正文", "微博id", 3, "4900000000000001", "今晚的烟花秀太震撼了，闭幕式值得一看"),
    ("header_not_first.csv", "generic", "Tweet Text", None, 2, None, "Solid-state pilot line opens, 1,000 cells a day"),
]


@pytest.mark.parametrize(("name", "layout", "text_col", "id_col", "n", "first_id", "first_text"), LAYOUTS,
                         ids=[row[0] for row in LAYOUTS])
def test_each_layout_maps_text_and_counts_rows(name, layout, text_col, id_col, n, first_id, first_text):
    result = read_posts(DATA / name)
    report, posts = result.report, result.posts
    assert report.layout == layout
    assert report.columns["text"] == text_col
    assert report.columns["id"] == id_col
    assert report.n_posts == len(posts) == n
    assert posts["text"].iloc[0] == first_text
    if first_id is None:
        assert posts["post_id"].str.fullmatch(r"h:[0-9a-f]{16}").all()
    else:
        assert posts["post_id"].iloc[0] == first_id
    assert list(posts.columns) == list(POST_COLUMNS)
    assert posts["post_id"].is_unique
    assert isinstance(posts.index, pd.RangeIndex)
    assert set(report.columns) == set(ROLES)


def test_post_table_dtypes():
    posts = read_posts(DATA / "weibo_crawler.csv").posts
    assert str(posts["time"].dtype) == "datetime64[ns, UTC]"
    for col in ("likes", "reposts", "comments"):
        assert str(posts[col].dtype) == "Int64"
    assert posts["scorable"].dtype == bool
    assert posts["dup_count"].dtype == "int64" and posts["source_row"].dtype == "int64"
    assert all(isinstance(v, str) for v in posts["post_id"])
    assert all(isinstance(v, list) for v in posts["hashtags"])
    assert posts["dup_of"].iloc[0] is None and posts["url"].iloc[0] is None  # "str|None" columns
    assert posts["unscorable_reason"].iloc[3] == "placeholder: 转发微博"
    # source_row counts records after the header; the repeated header (record 6) keeps its number
    assert posts["source_row"].tolist() == [1, 2, 3, 4, 5, 7, 8, 9]


def test_layout_specific_roles():
    twint = read_posts(DATA / "twint.csv").report.columns
    assert (twint["time"], twint["author"], twint["likes"], twint["reposts"], twint["comments"]) == (
        "created_at", "username", "likes_count", "retweets_count", "replies_count")
    twarc = read_posts(DATA / "twarc.csv").report.columns
    assert twarc["author"] == "author.username" and twarc["likes"] == "public_metrics.like_count"
    melt = read_posts(DATA / "meltwater.csv")
    assert melt.report.encoding == "utf-16" and melt.report.delimiter == "\t"
    assert melt.posts["lang"].tolist() == ["en", "en", "zh"]  # "English"/"Chinese" mapped to codes
    v2 = read_posts(DATA / "x_api_v2.json")
    assert v2.posts["author"].tolist() == ["gridwatch", "cellchem"]  # includes.users joined by author_id
    assert v2.posts["text"].iloc[1].endswith("full explanation of the anode.")  # note_tweet beats text
    weibo = read_posts(DATA / "weibo_crawler.csv").report.columns
    assert (weibo["author"], weibo["time"], weibo["likes"]) == ("用户昵称", "发布时间", "点赞数")


def test_crowdtangle_text_falls_back_to_description_then_image_text():
    posts = read_posts(DATA / "crowdtangle.csv").posts
    assert posts["text"].tolist() == [
        "Battery breakthrough: 10-minute charging",
        "New recycling rules for old EV packs explained",
        "AI ART NIGHT - MIDJOURNEY VS STABLE DIFFUSION",
    ]


def test_reddit_title_joins_selftext_and_comments_use_body():
    result = read_posts(DATA / "reddit.jsonl")
    posts = result.posts.set_index("post_id")
    assert posts.loc["abc124", "text"] == "Moderated thread title"  # "[removed]" body left out
    assert posts.loc["abc124", "text_raw"] == "Moderated thread title\n\n[removed]"
    assert bool(posts.loc["abc124", "scorable"])
    assert posts.loc["def456", "text"] == "Midjourney is easier, SD is more controllable."
    assert not posts.loc["def457", "scorable"]
    assert posts.loc["def457", "unscorable_reason"] == "placeholder: [deleted]"
    assert posts.loc["abc123", "url"] == "https://www.reddit.com/r/StableDiffusion/comments/abc123/"
    assert posts.loc["abc123", "time"] == pd.Timestamp("2023-09-29 15:06:40", tz="UTC")  # created_utc epoch seconds


def test_x_archive_reads_all_parts_and_zip(tmp_path):
    result = read_posts(DATA / "x_archive" / "tweets.js")
    assert result.report.files == ["tweets.js", "tweets-part1.js"]
    assert result.posts["post_id"].tolist() == ["1300000000000000001", "1300000000000000002", "1300000000000000003"]
    assert result.posts["text"].iloc[1] == "Second one, with <3"
    assert result.posts["likes"].tolist() == [1, 2, 3]  # the archive writes counts as strings
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("data/tweets.js", (DATA / "x_archive" / "tweets.js").read_text())
        zf.writestr("data/tweets-part1.js", (DATA / "x_archive" / "tweets-part1.js").read_text())
        zf.writestr("data/account.js", "window.YTD.account.part0 = []")
    zipped = read_posts(buf.getvalue(), filename="twitter-archive.zip")
    assert zipped.posts["post_id"].tolist() == result.posts["post_id"].tolist()



@pytest.mark.parametrize("filename, data", [
    ("deep.json", b"[" * 100_000 + b"]" * 100_000),  # the parser itself recurses too deep
    ("deep.jsonl", b'{"a":' * 990 + b"1" + b"}" * 990),  # parses; the record search and flattening recurse
    ("tweets.js", b"window.YTD.tweets.part0 = " + b"[" * 100_000 + b"]" * 100_000),
])
def test_json_nested_too_deep_is_a_clear_input_error(filename, data):
    # was a bare RecursionError: a traceback in the UI instead of the file's name and what to do
    with pytest.raises(InputFileError, match=rf"{filename.replace('.', '[.]')} nests JSON .* deeper.*JSON Lines"):
        read_posts(data, filename=filename)


# ---------------------------------------------------------------- delimiters, header, quoting


@pytest.mark.parametrize("delim", [",", "\t", ";", "|"])
def test_delimiter_is_sniffed(tmp_path, delim):
    rows = [["id", "text", "likes"], ["1", "hello, world; a|b", "3"], ["2", "second post", "4"]]
    buf = io.StringIO()
    csv.writer(buf, delimiter=delim).writerows(rows)
    result = read_posts(write(tmp_path, "posts.txt", buf.getvalue()))
    assert result.report.delimiter == delim
    assert result.posts["text"].tolist() == ["hello, world; a|b", "second post"]
    assert result.posts["likes"].tolist() == [3, 4]


def test_header_found_below_preamble_and_names_stripped():
    result = read_posts(DATA / "header_not_first.csv")
    assert result.report.header_row == 3
    assert result.report.columns["author"] == "Account"  # "\ufeffAccount" stripped of its BOM
    assert result.report.columns["text"] == "Tweet Text"  # " Tweet Text" stripped
    assert result.report.source_columns == ["Account", "Tweet Text", "Date", "Likes"]
    assert any("line 4" in w for w in result.report.warnings)


def test_repeated_header_rows_dropped_and_counted():
    report = read_posts(DATA / "weibo_crawler.csv").report
    assert report.rows_read == 9
    assert report.n_posts == 8
    assert report.dropped == {"repeated header row": 1}


def test_quoted_newlines_and_tabs_are_honoured():
    posts = read_posts(DATA / "nlpcc.tsv").posts
    assert len(posts) == 5
    assert posts["text_raw"].iloc[0] == "禁摩以后送外卖只能骑自行车\n饭都凉了"
    assert posts["text_raw"].iloc[2] == "今年不放鞭炮，空气好多了\t点赞"
    assert posts["text"].iloc[1] == '说"二胎"的人多了，真生的人少'  # quotes inside a cell stay literal
    # a CR inside a quoted cell (CrisisLex) does not split the record
    assert read_posts(DATA / "crisislex_t26.csv").posts["text"].iloc[2] == "Praying for everyone\nstay safe"


def test_unquoted_delimiter_in_text_is_joined_back(tmp_path):
    path = write(tmp_path, "loose.csv", "id,text,likes\n1,one post,5\n2,tea, coffee and cake,7\n3,short\n")
    result = read_posts(path)
    posts = result.posts
    assert posts["text"].tolist() == ["one post", "tea, coffee and cake", "short"]
    assert posts["likes"].tolist()[:2] == [5, 7] and pd.isna(posts["likes"].iloc[2])
    assert any("joined back into the text column" in w for w in result.report.warnings)
    assert any("fewer fields" in w for w in result.report.warnings)


def test_unbalanced_quote_is_warned(tmp_path):
    result = read_posts(write(tmp_path, "q.csv", 'id,text\n1,"never closed\n2,ok\n3,fine\n'))
    assert result.report.n_posts == 1  # what the csv module reads, but not silently
    assert any("Record 1" in w and "unbalanced" in w for w in result.report.warnings)
    clean = read_posts(DATA / "nlpcc.tsv").report.warnings
    assert not any("unbalanced" in w for w in clean)


def test_blank_rows_are_dropped_with_a_reason(tmp_path):
    result = read_posts(write(tmp_path, "b.csv", "id,text\n1,first\n\n,\n2,second\n"))
    assert result.report.n_posts == 2
    assert result.report.dropped == {"blank row": 2}
    assert result.posts["source_row"].tolist() == [1, 4]


# ---------------------------------------------------------------- encodings


def test_encoding_order_bom_utf8_gb18030_utf16(tmp_path):
    text = "id,text\n1,烟花真好看\n2,Café crème\n"
    assert read_posts(write(tmp_path, "a.csv", codecs.BOM_UTF8 + text.encode())).report.encoding == "utf-8-sig"
    assert read_posts(write(tmp_path, "b.csv", text)).report.encoding == "utf-8"
    gb = read_posts(write(tmp_path, "c.csv", "id,text\n1,烟花真好看\n", encoding="gb18030"))
    assert gb.report.encoding == "gb18030" and gb.posts["text"].iloc[0] == "烟花真好看"
    le = read_posts(write(tmp_path, "d.csv", text.encode("utf-16-le")))  # no BOM: NUL bytes tell
    assert le.report.encoding == "utf-16-le" and le.posts["text"].tolist() == ["烟花真好看", "Café crème"]
    be = read_posts(write(tmp_path, "e.csv", text.encode("utf-16-be")))
    assert be.report.encoding == "utf-16-be"
    bom16 = read_posts(write(tmp_path, "f.csv", codecs.BOM_UTF16_LE + text.encode("utf-16-le")))
    assert bom16.report.encoding == "utf-16"


def test_stray_nul_bytes_are_removed_and_reported(tmp_path):
    result = read_posts(write(tmp_path, "nul.csv", b"id,text\n1,fire\x00works tonight\n2,second post\n"))
    assert result.report.encoding == "utf-8"
    assert result.posts["text"].tolist() == ["fireworks tonight", "second post"]
    assert "1 stray NUL byte(s) were removed." in result.report.warnings


def test_cp1252_latin_text_is_not_mistaken_for_gb18030(tmp_path):
    text = ("id,text\n1,Les fêtes étaient très réussies à Montréal\n2,Señora Müller was über happy\n"
            "3,Crème brûlée and café au lait\n")
    result = read_posts(write(tmp_path, "latin.csv", text.encode("cp1252")))
    assert result.report.encoding == "cp1252"
    assert result.posts["text"].tolist()[0] == "Les fêtes étaient très réussies à Montréal"
    assert any("gb18030" in w for w in result.report.warnings)


def test_mojibake_header_is_rejected_and_named():
    with pytest.raises(InputFileError, match=r"mojibake\.csv.*mojibake.*微博正文"):
        read_posts(DATA / "mojibake.csv")
    latin = "Tweet Text,Auteur\nCafé crème à Montréal,José\n".encode().decode("cp1252").encode("utf-8")
    with pytest.raises(InputFileError, match=r"latin\.csv: the first lines look like mojibake"):
        read_posts(latin, filename="latin.csv")  # valid UTF-8 holding mojibake: no other codec is tried
    assert looks_like_mojibake("Ã©tÃ©,text") is not None
    assert looks_like_mojibake("微博正文,发布时间") is None
    assert looks_like_mojibake("Café,crème") is None


def test_undecodable_bytes_are_never_replaced(tmp_path):
    data = b"id,text\n1,\x81\x20bad\n"  # invalid UTF-8, invalid GB18030, 0x81 undefined in cp1252
    with pytest.raises(InputFileError, match=r"broken\.csv cannot be decoded"):
        read_posts(write(tmp_path, "broken.csv", data))
    assert decode_bytes(b"ok").encoding == "utf-8"


# ---------------------------------------------------------------- column roles and overrides


def test_analyst_override_of_roles():
    result = read_posts(DATA / "crowdtangle.csv", columns={"text": "Description", "author": "Page Name"})
    assert result.report.columns["text"] == "Description"
    assert result.report.columns["author"] == "Page Name"
    assert result.posts["text"].iloc[1] == "New recycling rules for old EV packs explained"
    assert not result.posts["scorable"].iloc[0]  # no Description on the first post
    joined = read_posts(DATA / "reddit.jsonl", columns={"text": ["title", "subreddit"], "id": None})
    assert joined.posts["text"].iloc[0] == "Stable Diffusion vs Midjourney for product shots?\n\nStableDiffusion"
    assert joined.report.columns["id"] is None and joined.posts["post_id"].str.startswith("h:").all()
    plus = read_posts(DATA / "reddit.jsonl", columns={"text": "title + subreddit"})
    assert plus.posts["text"].iloc[0] == joined.posts["text"].iloc[0]


def test_override_errors_name_the_file_and_column():
    with pytest.raises(ColumnError, match=r"twint\.csv has no column 'nope'.*'tweet'"):
        read_posts(DATA / "twint.csv", columns={"text": "nope"})
    with pytest.raises(ColumnError, match="'colour' is not a column role"):
        read_posts(DATA / "twint.csv", columns={"colour": "tweet"})


def test_unknown_text_column_is_guessed_or_refused(tmp_path):
    guessed = read_posts(write(tmp_path, "g.csv", "n,blurb\n1,this is a long free text about batteries\n"
                                                   "2,another long free text about the ceremony\n"))
    assert guessed.report.columns["text"] == "blurb"
    assert any("No known text column" in w for w in guessed.report.warnings)
    with pytest.raises(ColumnError, match=r"numbers\.csv has no usable text column"):
        read_posts(write(tmp_path, "numbers.csv", "a,b\n1,2\n3,4\n"))


# ---------------------------------------------------------------- IDs


def test_ids_are_strings_cleaned_of_spreadsheet_armour():
    assert read_posts(DATA / "excel_armour.csv").posts["post_id"].tolist() == [
        "1712000000000000001", "1712000000000000002", "1712000000000000003"]
    assert read_posts(DATA / "crisislex_t6.csv").posts["post_id"].iloc[0] == "262000000000000001"
    assert [clean_id(v) for v in ["'9'", '="0012"', " 7.0 ", "", "nan", "x.0"]] == ["9", "0012", "7", "", "", "x.0"]


@pytest.mark.parametrize("name", ["excel_mangled.csv", "excel_zeros.csv"])
def test_spreadsheet_mangled_ids_are_replaced_by_content_hashes(name):
    result = read_posts(DATA / name)
    assert result.report.warnings[0].startswith("IDs corrupted by a spreadsheet")
    assert result.posts["post_id"].str.fullmatch(r"h:[0-9a-f]{16}").all()
    assert result.posts["post_id"].is_unique


def test_repeated_ids_with_different_texts_mean_corruption(tmp_path):
    rows = "id,text\n" + "".join(f"{1000 + i // 2},post number {i} about something different\n" for i in range(8))
    result = read_posts(write(tmp_path, "dups.csv", rows))
    assert result.report.warnings[0].startswith("IDs corrupted by a spreadsheet")


def test_a_repeated_record_keeps_a_suffixed_id(tmp_path):
    result = read_posts(write(tmp_path, "rep.csv", "id,text\n5,same post\n6,other post\n5,same post\n"))
    assert result.posts["post_id"].tolist() == ["5", "6", "5~2"]
    assert result.posts["dup_of"].iloc[2] == "5"
    assert not any("corrupted" in w for w in result.report.warnings)


def test_long_ids_keep_every_digit(tmp_path):
    result = read_posts(write(tmp_path, "big.csv", "id,text\n1712345678901234567,a post\n9007199254740993,b post\n"))
    assert result.posts["post_id"].tolist() == ["1712345678901234567", "9007199254740993"]
    js = read_posts(b'[{"id": 1712345678901234567, "text": "a"}]', filename="x.json")
    assert js.posts["post_id"].iloc[0] == "1712345678901234567"


# ---------------------------------------------------------------- numbers and times


def test_counts_parse_to_numbers_or_missing():
    assert parse_count("1,234") == (1234, True)
    assert parse_count("1.2万") == (12000, True)
    assert parse_count("3.4k") == (3400, True)
    assert parse_count("12.0") == (12, True)
    assert parse_count("N/A") == (None, True)
    assert parse_count("无") == (None, True)
    assert parse_count("转发") == (0, True)  # Weibo's button label when nobody reposted
    assert parse_count("lots") == (None, False)
    posts = read_posts(DATA / "weibo_crawler.csv").posts
    assert posts["likes"].iloc[0] == 12000 and posts["reposts"].iloc[0] == 1234
    assert posts["reposts"].iloc[1] == 0
    assert pd.isna(posts["comments"].iloc[2]) and pd.isna(posts["likes"].iloc[2])


def test_non_numeric_counts_are_warned(tmp_path):
    result = read_posts(write(tmp_path, "c.csv", "text,likes\nfirst post,many\nsecond post,3\n"))
    assert pd.isna(result.posts["likes"].iloc[0]) and result.posts["likes"].iloc[1] == 3
    assert any("'likes' are not counts" in w and "record 1" in w for w in result.report.warnings)


def test_times_in_export_formats():
    times, counts = parse_times([
        "Wed Oct 11 20:19:24 +0000 2023", "2023-10-02T08:00:00+08:00", "2023年10月09日 08:15",
        "1696000000", "1696000000000", "5分钟前", "03月31日 12:00", "garbage", "",
    ])
    expected = ["2023-10-11 20:19:24", "2023-10-02 00:00:00", "2023-10-09 08:15:00",
                "2023-09-29 15:06:40", "2023-09-29 15:06:40"]
    assert [str(t) for t in times[:5]] == expected
    assert times[5:].isna().all()
    assert counts == {"relative": 1, "no_year": 1, "unparsed": 1, "tz_names": 0}
    report = read_posts(DATA / "weibo_crawler.csv").report
    assert any("relative time" in w for w in report.warnings)


# ---------------------------------------------------------------- text hygiene


def test_html_entities_are_unescaped_exactly_once():
    assert clean_text("fish &amp; chips &amp;lt;3").text == "fish & chips &lt;3"
    assert clean_text("line<br/>break").text == "line\nbreak"


def test_twarc_literal_newlines_only_for_twarc():
    twarc = read_posts(DATA / "twarc.csv").posts
    assert twarc["text"].iloc[0].startswith("Line one\nLine two")
    assert "\\n" in twarc["text_raw"].iloc[0]
    assert clean_text("C:\\new folder").text == "C:\\new folder"  # left alone elsewhere


def test_weibo_conventions():
    cleaned = clean_text("新电池要来了[鼓掌][鼓掌]//@科技日报:#固态电池#量产时间表公布")
    assert cleaned.text == "新电池要来了" and cleaned.repost
    assert cleaned.hashtags == []  # the topic was in the repost chain, not the poster's words
    topic = clean_text("#杭州亚运会闭幕式#烟花太美了 #iPhone SE#好 [doge]")
    assert topic.hashtags == ["杭州亚运会闭幕式", "iPhone SE"]
    assert topic.text == "#杭州亚运会闭幕式#烟花太美了 #iPhone SE#好"
    truncated = clean_text("这剧太上头了停不下来，一口气看到凌晨三点……全文")
    assert truncated.text == "这剧太上头了停不下来，一口气看到凌晨三点" and truncated.truncated
    assert clean_text("请看全文").text == "请看全文"
    assert clean_text("//@原博主:转发的内容").unscorable_reason == "repost without own text"


def test_twitter_entities_are_extracted():
    cleaned = clean_text("RT @news_desk: Flooding #yycflood #Erlton near http://t.co/AbC. Email me@example.com")
    assert cleaned.hashtags == ["yycflood", "Erlton"]
    assert cleaned.mentions == ["news_desk"]
    assert cleaned.urls == ["http://t.co/AbC"]
    weibo = read_posts(DATA / "weibo_crawler.csv").posts
    assert weibo["mentions"].iloc[4] == ["画图的狗"]
    assert weibo["urls"].iloc[5] == ["http://t.cn/A6abcdE"]
    assert weibo["hashtags"].iloc[5] == ["杭州亚运会开幕式"]


@pytest.mark.parametrize(("raw", "reason"), [
    ("[removed]", "placeholder: [removed]"), ("[deleted]", "placeholder: [deleted]"),
    ("转发微博", "placeholder: 转发微博"), ("", "empty text"), ("   \n ", "empty text"), ("nan", "placeholder: nan"),
    ("http://t.co/x @someone [哈哈]", "no words (only links, mentions, emoticons or symbols)"),
])
def test_placeholders_are_unscorable_with_a_reason(raw, reason):
    assert clean_text(raw).unscorable_reason == reason


def test_placeholders_are_kept_in_the_table_but_not_scorable():
    result = read_posts(DATA / "weibo_crawler.csv")
    posts = result.posts.set_index("post_id")
    assert not posts.loc["4890000000000004", "scorable"]
    assert posts.loc["4890000000000004", "unscorable_reason"] == "placeholder: 转发微博"
    assert result.report.unscorable == {"placeholder: 转发微博": 1, "repost without own text": 1}
    assert any("全文" in w for w in result.report.warnings)


# ---------------------------------------------------------------- duplicates and dataset identity


def test_exact_and_near_exact_duplicates_are_grouped():
    weibo = read_posts(DATA / "weibo_crawler.csv").posts.set_index("post_id")
    # same own words, different punctuation and spacing
    assert weibo.loc["4890000000000008", "dup_of"] == "4890000000000001"
    assert weibo.loc["4890000000000001", "dup_count"] == 2
    assert pd.isna(weibo.loc["4890000000000001", "dup_of"])
    x = read_posts(DATA / "x_api_v1.jsonl")  # a retweet copy ("RT @user: ...")
    assert x.posts["dup_of"].tolist()[1] == "1712000000000000001"
    assert x.report.duplicates == 1 and x.report.duplicate_groups == 1


def test_cut_off_retweet_copies_join_the_complete_post(tmp_path):
    rows = ("id,text\n"
            "1,RT @desk: Flood water is rising near the old bridge on Main Street http://t.c…\n"
            "2,Flood water is rising near the old bridge on Main Street http://t.co/abc #flood\n"
            "3,RT @desk: Flood water is rising near the old bri…\n"
            "4,Flood…\n"
            "5,Flood warnings lifted for the valley tonight\n")
    posts = read_posts(write(tmp_path, "rt.csv", rows)).posts
    assert posts["dup_of"].tolist()[:3] == ["2", None, "2"]
    assert posts["dup_count"].tolist() == [3, 3, 3, 1, 1]  # "Flood…" is too short to join anything


def test_collapse_duplicates_keeps_one_representative_with_its_count():
    posts = read_posts(DATA / "crisislex_t6.csv").posts
    collapsed = collapse_duplicates(posts)
    assert collapsed["post_id"].tolist() == ["262000000000000001", "262000000000000002"]
    assert collapsed["dup_count"].tolist() == [2, 1]
    assert isinstance(collapsed.index, pd.RangeIndex)


def test_dataset_hash_is_stable_and_content_sensitive():
    posts = read_posts(DATA / "twint.csv").posts
    same = read_posts((DATA / "twint.csv").read_bytes(), filename="copy.csv").posts
    assert dataset_hash(posts) == dataset_hash(same) == read_posts(DATA / "twint.csv").report.dataset_hash
    assert dataset_hash(posts.iloc[::-1]) == dataset_hash(posts)
    changed = posts.copy()
    changed.loc[0, "text_raw"] = "something else"
    assert dataset_hash(changed) != dataset_hash(posts)


# ---------------------------------------------------------------- XLSX


def test_xlsx_with_title_row_and_float_ids(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "export"
    ws.append(["Weibo export 2023-10"])
    ws.append(["微博id", "微博正文", "点赞数", "发布时间"])
    ws.append([4890000000000001, "烟花太美了", 12, "2023-10-08 21:30"])
    ws.append([4890000000000002, "吉祥物好可爱", "1,234", "2023-10-08 22:00"])
    ws.append([])
    ws.append([4890000000000003, "电池新技术", None, "2023-10-09 09:00"])
    path = tmp_path / "weibo.xlsx"
    wb.save(path)
    result = read_posts(path)
    assert result.report.format == "xlsx" and result.report.encoding is None and result.report.delimiter is None
    assert result.report.header_row == 1
    assert result.posts["post_id"].tolist() == ["4890000000000001", "4890000000000002", "4890000000000003"]
    assert result.posts["likes"].tolist()[:2] == [12, 1234]
    assert result.report.dropped == {"blank row": 1}
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Tweet ID", "Tweet Text"])
    for i, text in enumerate(["first post", "second post", "third post"]):
        ws.append([1.71234567890123e18 + i * 1e6, text])  # what Excel keeps of 19-digit IDs
    wb.save(tmp_path / "mangled.xlsx")
    mangled = read_posts((tmp_path / "mangled.xlsx").read_bytes(), filename="mangled.xlsx")
    assert mangled.report.warnings[0].startswith("IDs corrupted by a spreadsheet")


# ---------------------------------------------------------------- uploads, report, errors


class _Upload(io.BytesIO):
    """What Streamlit's UploadedFile offers: a BytesIO with a name and a size."""

    def __init__(self, data: bytes, name: str):
        super().__init__(data)
        self.name = name
        self.size = len(data)


def test_bytes_and_file_like_uploads():
    data = (DATA / "nlpcc.tsv").read_bytes()
    from_bytes = read_posts(data, filename="nlpcc.tsv")
    from_upload = read_posts(_Upload(data, "nlpcc.tsv"))
    assert from_bytes.report.source == from_upload.report.source == "nlpcc.tsv"
    pd.testing.assert_frame_equal(from_bytes.posts, from_upload.posts)
    # the content decides when the extension is wrong
    assert read_posts((DATA / "x_api_v2.json").read_bytes(), filename="export.csv").report.format == "json"


def test_report_to_dict_is_json_with_required_keys():
    report = read_posts(DATA / "weibo_crawler.csv").report.to_dict()
    for key in ("encoding", "delimiter", "header_row", "columns", "n_posts", "rows_read", "dropped",
                "duplicates", "warnings", "source_columns", "dataset_hash"):
        assert key in report
    assert json.loads(json.dumps(report, ensure_ascii=False)) == report


@pytest.mark.parametrize(("content", "name", "pattern"), [
    (b"", "empty.csv", r"empty\.csv is empty"),
    (b"   \n\n", "blank.csv", r"blank\.csv is empty"),
    (b"\x89PNG\r\n\x1a\n" + bytes(64), "photo.csv", r"photo\.csv is a PDF or an image"),
    (b'{"meta": {"count": 0}, "note": 3}', "meta.json", r"meta\.json has no usable text column"),
    (b"[]", "none.json", r"none\.json holds no records"),
    (b"id,text\n", "header_only.csv", r"header_only\.csv has a header .* but no records"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "old.xls", r"old\.xls is an old Excel workbook"),
    (b"not a workbook", "fake.xlsx", r"fake\.xlsx is named like an Excel workbook"),
    (b'{"text": "a"}\n{broken\n{broken\n{broken\n{broken\n', "bad.jsonl", r"bad\.jsonl is neither JSON"),
])
def test_errors_for_a_person_name_the_file(content, name, pattern):
    with pytest.raises((InputFileError, ColumnError), match=pattern):
        read_posts(content, filename=name)


def test_prose_is_not_a_table(tmp_path):
    prose = "# Notes\n\nThis is a paragraph, with commas, and more words.\nAnother line, again, here.\n" * 5
    with pytest.raises(InputFileError, match=r"notes\.txt does not look like a table of posts"):
        read_posts(write(tmp_path, "notes.txt", prose))


def test_size_limit(tmp_path):
    path = write(tmp_path, "big.csv", "id,text\n" + "1,some words here\n" * 200)
    with pytest.raises(InputFileError, match=r"big\.csv is 0\.0 MB, over the 0\.001 MB limit.*SIEVE_MAX_UPLOAD_MB"):
        read_posts(path, max_mb=0.001)
    assert read_posts(path, max_mb=1).report.n_posts == 200
    with pytest.raises(InputFileError, match="does not exist"):
        read_posts(tmp_path / "missing.csv")


# ---------------------------------------------------------------- command line


def test_inspect_json(capsys):
    from core.cli import main

    assert main(["inspect", str(DATA / "nlpcc.tsv"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["encoding"] == "utf-8-sig" and out["delimiter"] == "\t" and out["n_posts"] == 5
    assert out["columns"]["text"] == "TEXT" and out["columns"]["time"] is None
    assert out["dropped"] == {} and isinstance(out["warnings"], list)


def test_inspect_human_output_and_column_option(capsys):
    from core.cli import main

    assert main(["inspect", str(DATA / "reddit.jsonl"), "--column", "text=title+selftext", "--column", "id="]) == 0
    out = capsys.readouterr().out
    assert "title + selftext" in out and "4 kept of 4 records read" in out


def test_inspect_unreadable_file_exits_2_with_one_line(capsys, tmp_path):
    from core.cli import main

    assert main(["inspect", str(DATA / "mojibake.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: mojibake.csv") and err.count("\n") == 1
    assert main(["inspect", str(tmp_path / "nope.csv"), "--json"]) == 2


# ---------------------------------------------------------------- choosing a column, over-long cells


def test_unrecognised_text_column_error_lists_columns_and_how_to_choose(tmp_path):
    from core.ingest import ColumnChoiceError, read_columns

    path = write(tmp_path, "short.csv", "id,blurb\n1,ok\n2,yes sure\n3,no\n")
    with pytest.raises(ColumnChoiceError) as exc:
        read_posts(path)
    message = str(exc.value)
    assert "'blurb'" in message and "Data page > Column mapping" in message and "--column text=NAME" in message
    assert exc.value.columns == ["id", "blurb"] and exc.value.role == "text"
    assert isinstance(exc.value, ColumnError)
    assert read_columns(path) == ["id", "blurb"]
    assert read_columns(path.read_bytes(), filename="short.csv") == ["id", "blurb"]
    with pytest.raises(ColumnChoiceError) as exc:
        read_posts(path, columns={"text": "Tweet Text"})
    assert exc.value.columns == ["id", "blurb"] and "'Tweet Text'" in str(exc.value)
    posts = read_posts(path, columns={"text": "blurb"}).posts
    assert posts["text"].tolist() == ["ok", "yes sure", "no"]


def test_parse_columns_is_shared_by_every_command(tmp_path):
    from core.ingest.cli import parse_columns

    assert parse_columns(["text=title+selftext", "id="]) == {"text": ["title", "selftext"], "id": None}
    assert parse_columns(None) is None
    with pytest.raises(ColumnError, match="ROLE=COLUMN"):
        parse_columns(["text"])
    from core.cli import build_parser

    parser = build_parser()
    for command in (["inspect", "f.csv"], ["rerank", "f.csv", "-q", "x"], ["cluster", "f.csv"]):
        args = parser.parse_args(command + ["--column", "text=blurb", "--column", "id=key"])
        assert args.column == ["text=blurb", "id=key"], command


def test_over_long_text_is_cut_for_scoring_and_kept_whole_in_text_raw(tmp_path):
    from core.ingest import MAX_TEXT_CHARS

    huge = "Boston explosion " * 3000  # 51,000 characters
    rows = [["1", huge]] + [[str(k), f"normal tweet number {k} about the marathon"] for k in range(2, 6)]
    buf = io.StringIO()
    csv.writer(buf).writerows([["id", "text"], *rows])
    result = read_posts(write(tmp_path, "huge.csv", buf.getvalue()))
    posts, report = result.posts, result.report
    assert len(posts.loc[0, "text"]) == MAX_TEXT_CHARS
    assert posts.loc[0, "text_raw"] == huge
    assert posts.loc[0, "scorable"]
    assert posts["text"].str.len().iloc[1:].max() < 100
    assert report.long_texts == 1 and report.to_dict()["long_texts"] == 1
    assert any(f"longer than {MAX_TEXT_CHARS:,} characters were truncated for scoring" in w
               for w in report.warnings)
    ok = read_posts(write(tmp_path, "ok.csv", "id,text\n1,a normal post about the marathon\n")).report
    assert ok.long_texts == 0 and not any("truncated for scoring" in w for w in ok.warnings)


def test_a_header_only_export_says_what_to_do():
    """A newcomer's header-only file got "has a header (...) but no records" and no next step."""
    with pytest.raises(InputFileError) as caught:
        read_posts(b"id,text\n", filename="header_only.csv")
    assert caught.value.hint and "export them again" in caught.value.hint
