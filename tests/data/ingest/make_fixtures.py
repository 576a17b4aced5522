"""Write the small ingest fixtures of tests/data/ingest/ (run once; the files are committed).

Every post text here is synthetic, written for these tests. Each file mimics
the layout of one tool's export (column names, encoding, quoting, quirks), so
that tests can check that ``core.ingest.read_posts`` maps the right columns
and counts the records exactly. Run: ``python tests/data/ingest/make_fixtures.py``.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def write_csv(name: str, rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ",",
              bom: bytes = b"", quoting: int = csv.QUOTE_MINIMAL, lineterminator: str = "\r\n",
              prefix: str = "") -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, quoting=quoting, lineterminator=lineterminator)
    writer.writerows(rows)
    (HERE / name).write_bytes(bom + (prefix + buf.getvalue()).encode(encoding))


def weibo_crawler() -> None:
    """weibo-search style CSV: Chinese headers, UTF-8 BOM, appended runs repeat the header."""
    header = ["id", "bid", "user_id", "用户昵称", "微博正文", "头条文章url", "发布位置", "艾特用户", "话题",
              "转发数", "评论数", "点赞数", "发布时间", "发布工具", "微博图片url", "微博视频url", "retweet_id"]
    run1 = [
        ["4890000000000001", "Mabc001", "6000000001", "杭州小王", "#杭州亚运会闭幕式#烟花太美了，西湖边看得清清楚楚[鼓掌][鼓掌]",
         "", "杭州", "", "杭州亚运会闭幕式", "1,234", "56", "1.2万", "2023-10-08 21:30", "iPhone客户端", "", "", ""],
        ["4890000000000002", "Mabc002", "6000000002", "电池观察", "新电池能量密度又破纪录了，续航焦虑要说再见？//@科技日报:固态电池量产时间表公布",
         "", "", "科技日报", "", "转发", "评论", "赞", "2023年10月09日 08:15", "微博 weibo.com", "", "", ""],
        ["4890000000000003", "Mabc003", "6000000003", "追剧达人", "这剧太上头了停不下来，一口气看到凌晨三点……全文",
         "", "", "", "", "3", "无", "-", "10分钟前", "Android", "", "", ""],
        ["4890000000000004", "Mabc004", "6000000004", "路人甲", "转发微博", "", "", "", "", "0", "0", "0",
         "2023-10-09 10:00", "Android", "", "", "4889999999999999"],
        ["4890000000000005", "Mabc005", "6000000005", "画图的猫", "Stable Diffusion 出图\n比 Midjourney 更可控，@画图的狗 你试试",
         "", "", "画图的狗", "", "2", "1", "8", "2023-10-09 12:00:00", "iPad", "", "", ""],
    ]
    run2 = [
        ["4890000000000006", "Mabc006", "6000000006", "杭州小王", "开幕式的数字火炬人也很震撼 http://t.cn/A6abcdE #杭州亚运会开幕式#",
         "", "杭州", "", "杭州亚运会开幕式", "10", "2", "30", "2023-09-23 20:00", "iPhone客户端", "", "", ""],
        ["4890000000000007", "Mabc007", "6000000007", "小号", "//@杭州小王:#杭州亚运会闭幕式#烟花太美了", "", "", "杭州小王", "",
         "0", "0", "1", "2023-10-08 22:00", "Android", "", "", "4890000000000001"],
        ["4890000000000008", "Mabc008", "6000000008", "搬运工", "#杭州亚运会闭幕式# 烟花太美了，西湖边看得清清楚楚！", "", "", "", "",
         "0", "0", "0", "2023-10-08 23:00", "Android", "", "", ""],
    ]
    write_csv("weibo_crawler.csv", [header, *run1, header, *run2], bom=codecs.BOM_UTF8)


def twint() -> None:
    header = ["id", "conversation_id", "created_at", "date", "time", "timezone", "user_id", "username", "name",
              "place", "tweet", "language", "mentions", "urls", "photos", "replies_count", "retweets_count",
              "likes_count", "hashtags", "cashtags", "link", "retweet", "quote_url", "video"]
    rows = [
        ["1710000000000000001", "1710000000000000001", "2023-10-08 12:00:00 UTC", "2023-10-08", "12:00:00", "+0000",
         "11", "fireworks_fan", "Fan", "", "The closing ceremony fireworks in Hangzhou were unreal #AsianGames",
         "en", "[]", "[]", "[]", "1", "2", "30", "['asiangames']", "[]", "https://twitter.com/fireworks_fan/status/1710000000000000001",
         "False", "", "0"],
        ["1710000000000000002", "1710000000000000002", "2023-10-08 13:00:00 UTC", "2023-10-08", "13:00:00", "+0000",
         "12", "evnerd", "EV Nerd", "", "Sodium-ion cells are finally cheap enough for city cars @batterynews",
         "en", "['batterynews']", "[]", "[]", "0", "5", "12", "[]", "[]", "https://twitter.com/evnerd/status/1710000000000000002",
         "False", "", "0"],
        ["1710000000000000003", "1710000000000000003", "2023-10-08 14:00:00 UTC", "2023-10-08", "14:00:00", "+0000",
         "13", "mix_user", "Mix", "", "这剧太上头了 binge-watched the whole season in one night",
         "zh", "[]", "[]", "[]", "0", "0", "3", "[]", "[]", "https://twitter.com/mix_user/status/1710000000000000003",
         "False", "", "0"],
    ]
    write_csv("twint.csv", [header, *rows], lineterminator="\n")


def snscrape() -> None:
    records = [
        {"_type": "snscrape.modules.twitter.Tweet", "url": "https://twitter.com/a/status/1600000000000000001",
         "date": "2022-12-01T10:00:00+00:00", "rawContent": "Midjourney v5 hands look so much better now",
         "renderedContent": "Midjourney v5 hands look so much better now", "id": 1600000000000000001,
         "user": {"username": "pixelpusher", "id": 42}, "replyCount": 1, "retweetCount": 2, "likeCount": 3,
         "lang": "en"},
        {"_type": "snscrape.modules.twitter.Tweet", "url": "https://twitter.com/b/status/1600000000000000002",
         "date": "2022-12-01T11:00:00+08:00", "rawContent": "Stable Diffusion 本地部署教程 &amp; tips",
         "renderedContent": "Stable Diffusion 本地部署教程 & tips", "id": 1600000000000000002,
         "user": {"username": "sd_cn", "id": 43}, "replyCount": 0, "retweetCount": 0, "likeCount": 9, "lang": "zh"},
    ]
    (HERE / "snscrape.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                                         encoding="utf-8")


def x_api() -> None:
    page = {
        "data": [
            {"id": "1700000000000000001", "author_id": "501", "created_at": "2023-09-10T08:00:00.000Z",
             "text": "New LFP battery recycling rules announced today", "lang": "en",
             "public_metrics": {"retweet_count": 4, "reply_count": 1, "like_count": 20, "quote_count": 0}},
            {"id": "1700000000000000002", "author_id": "502", "created_at": "2023-09-10T09:00:00.000Z",
             "text": "A long post about solid-state batteries that was cut at 280 characters…",
             "note_tweet": {"text": "A long post about solid-state batteries that was cut at 280 characters, "
                                    "continued here with the full explanation of the anode."},
             "lang": "en", "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 2, "quote_count": 0}},
        ],
        "includes": {"users": [{"id": "501", "username": "gridwatch", "name": "Grid Watch"},
                               {"id": "502", "username": "cellchem", "name": "Cell Chem"}]},
        "meta": {"result_count": 2},
    }
    (HERE / "x_api_v2.json").write_text(json.dumps(page, ensure_ascii=False, indent=1), encoding="utf-8")
    statuses = [
        {"created_at": "Wed Oct 11 20:19:24 +0000 2023", "id": 1712000000000000001, "id_str": "1712000000000000001",
         "full_text": "Carmaker earnings beat estimates, battery costs down 10% &amp; margins up",
         "text": "Carmaker earnings beat estimates", "user": {"screen_name": "autodesk_news", "id_str": "9"},
         "favorite_count": 15, "retweet_count": 3, "lang": "en"},
        {"created_at": "Wed Oct 11 21:00:00 +0000 2023", "id": 1712000000000000002, "id_str": "1712000000000000002",
         "full_text": "RT @autodesk_news: Carmaker earnings beat estimates, battery costs down 10% &amp; margins up",
         "text": "RT", "user": {"screen_name": "copycat", "id_str": "10"},
         "favorite_count": 0, "retweet_count": 3, "lang": "en"},
    ]
    (HERE / "x_api_v1.jsonl").write_text("".join(json.dumps(s) + "\n" for s in statuses), encoding="utf-8")


def x_archive() -> None:
    folder = HERE / "x_archive"
    folder.mkdir(exist_ok=True)

    def tweet(i: int, text: str) -> dict:
        return {"tweet": {"id_str": f"13000000000000000{i:02d}", "id": f"13000000000000000{i:02d}",
                          "full_text": text, "created_at": f"Mon Jan 0{i % 9 + 1} 10:00:00 +0000 2024",
                          "favorite_count": str(i), "retweet_count": "0", "lang": "en",
                          "entities": {"hashtags": [], "user_mentions": []}}}

    part0 = [tweet(1, "My first post about the mascot"), tweet(2, "Second one, with &lt;3")]
    part1 = [tweet(3, "Third post, in the second part file")]
    (folder / "tweets.js").write_text("window.YTD.tweets.part0 = " + json.dumps(part0, indent=2), encoding="utf-8")
    (folder / "tweets-part1.js").write_text("window.YTD.tweets.part1 = " + json.dumps(part1, indent=2),
                                            encoding="utf-8")


def twarc_csv() -> None:
    header = ["id", "conversation_id", "referenced_tweets.retweeted.id", "author_id", "created_at", "text", "lang",
              "public_metrics.like_count", "public_metrics.reply_count", "public_metrics.retweet_count",
              "author.id", "author.created_at", "author.username", "author.name",
              "author.public_metrics.followers_count", "__twarc.retrieved_at", "__twarc.url", "__twarc.version"]
    rows = [
        ["1690000000000000001", "1690000000000000001", "", "601", "2023-08-01T10:00:00.000Z",
         "Line one\\nLine two about the opening ceremony &amp; the drones", "en", "5", "0", "1",
         "601", "2010-01-01T00:00:00.000Z", "dronefan", "Drone Fan", "100", "2023-08-02T00:00:00+00:00",
         "https://api.twitter.com/2/tweets/search/all", "2.14.0"],
        ["1690000000000000002", "1690000000000000002", "", "602", "2023-08-01T11:00:00.000Z",
         "Weather forecast: rain during the ceremony? #Hangzhou", "en", "1", "1", "0",
         "602", "2011-01-01T00:00:00.000Z", "rainwatch", "Rain Watch", "7", "2023-08-02T00:00:00+00:00",
         "https://api.twitter.com/2/tweets/search/all", "2.14.0"],
    ]
    write_csv("twarc.csv", [header, *rows], lineterminator="\n")


def crowdtangle() -> None:
    header = ["Page Name", "User Name", "Facebook Id", "Page Category", "Page Created", "Likes at Posting",
              "Followers at Posting", "Post Created", "Post Created Date", "Post Created Time", "Type",
              "Total Interactions", "Likes", "Comments", "Shares", "Love", "Wow", "Haha", "Sad", "Angry", "Care",
              "URL", "Message", "Link", "Final Link", "Image Text", "Link Text", "Description"]
    rows = [
        ["EV Daily", "evdaily", "100000000000001", "MEDIA", "2015-01-01 00:00:00", "5,000", "6,000",
         "2023-10-10 09:00:00 EDT", "2023-10-10", "09:00:00", "Link", "1,520", "1,200", "120", "200", "0", "0", "0", "0",
         "0", "0", "https://www.facebook.com/evdaily/posts/1", "Battery breakthrough: 10-minute charging", "", "", "", "",
         ""],
        ["EV Daily", "evdaily", "100000000000001", "MEDIA", "2015-01-01 00:00:00", "5,000", "6,000",
         "2023-10-10 10:00:00 EDT", "2023-10-10", "10:00:00", "Link", "10", "8", "1", "1", "0", "0", "0", "0", "0", "0",
         "https://www.facebook.com/evdaily/posts/2", "", "https://example.com/a", "", "", "Recycling rules",
         "New recycling rules for old EV packs explained"],
        ["Art Corner", "artcorner", "100000000000002", "ARTIST", "2016-01-01 00:00:00", "900", "950",
         "2023-10-11 08:00:00 EDT", "2023-10-11", "08:00:00", "Photo", "3", "3", "0", "0", "0", "0", "0", "0", "0", "0",
         "https://www.facebook.com/artcorner/posts/3", "", "", "", "AI ART NIGHT - MIDJOURNEY VS STABLE DIFFUSION",
         "", ""],
    ]
    write_csv("crowdtangle.csv", [header, *rows])


def meltwater() -> None:
    """Meltwater exports: UTF-16 LE with a BOM, tab-separated, CRLF."""
    header = ["Date", "Headline", "URL", "Opening Text", "Hit Sentence", "Source", "Influencer", "Country",
              "Language", "Reach", "Engagement", "Sentiment", "Tweet Id", "Twitter Screen Name", "Alternate Date Format",
              "Time"]
    rows = [
        ["30-Mar-2023 03:01PM", "", "http://twitter.com/mw_one/statuses/1641000000000000001", "",
         "Mascots of the Games are everywhere in the metro", "Twitter", "@mw_one", "China", "English", "120", "4",
         "Positive", "\"1641000000000000001\"", "mw_one", "Mar 30, 2023", "03:01 PM"],
        ["30-Mar-2023 04:15PM", "Battery makers race ahead", "https://news.example.com/b",
         "Battery makers are racing to scale new chemistries, analysts said on Thursday.", "", "News", "Reporter", "China", "English",
         "5000", "0", "Neutral", "", "", "Mar 30, 2023", "04:15 PM"],
        ["31-Mar-2023 09:00AM", "", "http://twitter.com/mw_two/statuses/1641000000000000003", "",
         "追剧追到天亮\t真上头", "Twitter", "@mw_two", "China", "Chinese", "30", "1", "Neutral",
         "\"1641000000000000003\"", "mw_two", "Mar 31, 2023", "09:00 AM"],
    ]
    write_csv("meltwater.csv", [header, *rows], encoding="utf-16-le", delimiter="\t", bom=codecs.BOM_UTF16_LE)


def reddit() -> None:
    records = [
        {"id": "abc123", "name": "t3_abc123", "title": "Stable Diffusion vs Midjourney for product shots?",
         "selftext": "I need clean backgrounds. Which one is easier?", "author": "shopkeeper", "created_utc": 1696000000,
         "score": 12, "num_comments": 4, "permalink": "/r/StableDiffusion/comments/abc123/", "subreddit": "StableDiffusion"},
        {"id": "abc124", "name": "t3_abc124", "title": "Moderated thread title", "selftext": "[removed]",
         "author": "[deleted]", "created_utc": 1696000100, "score": 1, "num_comments": 0,
         "permalink": "/r/StableDiffusion/comments/abc124/", "subreddit": "StableDiffusion"},
        {"id": "def456", "name": "t1_def456", "body": "Midjourney is easier, SD is more controllable.",
         "author": "helper", "created_utc": 1696000200, "score": 5, "link_id": "t3_abc123",
         "permalink": "/r/StableDiffusion/comments/abc123/x/def456/"},
        {"id": "def457", "name": "t1_def457", "body": "[deleted]", "author": "[deleted]", "created_utc": 1696000300,
         "score": 0, "link_id": "t3_abc123", "permalink": "/r/StableDiffusion/comments/abc123/x/def457/"},
    ]
    (HERE / "reddit.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def crisislex() -> None:
    # T26: ", " between header names; IDs quoted; a text cell with a CR inside quotes
    lines = [
        "Tweet ID, Tweet Text, Information Source, Information Type, Informativeness",
        '"300000000000000001","Flood water rising near the bridge, stay away http://t.co/abc",Eyewitness,Caution and advice,Related and informative',
        '"300000000000000002","RT @news: Flood water rising near the bridge, stay away http://t.co/xyz",Media,Caution and advice,Related and informative',
        '"300000000000000003","Praying for everyone\rstay safe",Outsiders,Sympathy and support,Related - but not informative',
        '"300000000000000004","Great pizza tonight &amp; a movie",Not labeled,Not labeled,Not related',
    ]
    (HERE / "crisislex_t26.csv").write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    # T6: IDs written with single quotes
    lines = [
        "tweet id, tweet, label",
        "'262000000000000001',\"Sandy knocked our power out, candles ready\",on-topic",
        "'262000000000000002',\"Watching football with friends\",off-topic",
        "'262000000000000003',\"Sandy knocked our power out, candles ready\",on-topic",
    ]
    (HERE / "crisislex_t6.csv").write_bytes(("\n".join(lines) + "\n").encode("utf-8"))


def nlpcc() -> None:
    """NLPCC-like TSV: BOM, quoted TEXT cells with newlines and tabs, quotes mid-cell."""
    text = (
        "ID\tTARGET\tTEXT\tSTANCE\n"
        "1\t深圳禁摩限电\t\"禁摩以后送外卖只能骑自行车\n饭都凉了\"\tAGAINST\n"
        "2\t开放二胎\t说\"二胎\"的人多了，真生的人少\tNONE\n"
        "3\t春节放鞭炮\t\"今年不放鞭炮，空气好多了\t点赞\"\tFAVOR\n"
        "4\tIphoneSE\t#iPhone SE#小屏手机回来了 @数码君 http://t.cn/Rabc12\tFAVOR\n"
        "5\t开放二胎\t\t\n"
    )
    (HERE / "nlpcc.tsv").write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))


def gb18030() -> None:
    rows = [["微博id", "微博正文", "发布时间", "点赞数", "转发数", "评论数"],
            ["4900000000000001", "今晚的烟花秀太震撼了，闭幕式值得一看", "2023-10-08 22:00", "12", "3", "1"],
            ["4900000000000002", "吉祥物琮琮、莲莲、宸宸好可爱", "2023-10-08 22:05", "5", "0", "0"],
            ["4900000000000003", "电池新技术：钠离子电池装车", "2023-10-09 09:00", "7", "1", "2"]]
    write_csv("gb18030.csv", rows, encoding="gb18030")


def excel_mangled() -> None:
    rows = [["Tweet ID", "Tweet Text", "Label"],
            ["1.23457E+18", "Opening ceremony drone show was amazing", "on-topic"],
            ["1.23457E+18", "Rain expected in Hangzhou this weekend", "off-topic"],
            ["1.23457E+18", "Mascot plush toys sold out again", "off-topic"]]
    write_csv("excel_mangled.csv", rows)
    rows = [["id", "text"],
            ["1234567890123450000", "first post about the ceremony"],
            ["1234567890123460000", "second post about the weather"],
            ["1234567890123470000", "third post about the mascot"]]
    write_csv("excel_zeros.csv", rows)
    rows = [["id", "text"],
            ['="1712000000000000001"', "armoured id one"],
            ["'1712000000000000002", "leading apostrophe id"],
            [" 1712000000000000003.0 ", "trailing .0 id"]]
    write_csv("excel_armour.csv", rows)


def header_not_first() -> None:
    text = ("Social listening export\n"
            "Search: \"EV battery\" 2023-10-01 to 2023-10-31\n"
            "\n"
            "\ufeffAccount, Tweet Text, Date, Likes\n"
            "@cellchem,\"Solid-state pilot line opens, 1,000 cells a day\",2023-10-02T08:00:00Z,\"1,234\"\n"
            "@gridwatch,Recycling plant doubles capacity,2023-10-03T09:30:00+08:00,N/A\n")
    (HERE / "header_not_first.csv").write_bytes(text.encode("utf-8"))


def mojibake() -> None:
    """UTF-8 Chinese that was once read as GBK and saved again as UTF-8 (header '寰崥姝ｆ枃' ...)."""
    good = "微博正文,发布时间\n烟花真好看,2023-10-08 21:00\n"
    garbled = good.encode("utf-8").decode("gb18030", errors="replace")
    (HERE / "mojibake.csv").write_bytes(garbled.encode("utf-8"))


def main() -> None:
    for make in (weibo_crawler, twint, snscrape, x_api, x_archive, twarc_csv, crowdtangle, meltwater, reddit,
                 crisislex, nlpcc, gb18030, excel_mangled, header_not_first, mojibake):
        make()


if __name__ == "__main__":
    main()
