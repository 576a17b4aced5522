"""Regenerate Sieve's bundled synthetic sample exports and qrels.

Every post below was written by the Sieve team for this sample: the events'
details (numbers, road names, the typhoon "Qingluan" / 青鸾, the drama
《雾港来信》 "Letters from Fog Harbor", the accounts) are invented or loosely
paraphrased general knowledge; no post is copied from a platform.

Run from the repository root (deterministic: the same files every time)::

    python sample_data/make_samples.py            # writes into sample_data/
    python sample_data/make_samples.py --out DIR  # writes elsewhere

Outputs (see ``sample_data/README.md``):

- ``weibo_sample.csv``: Weibo-crawler-style export, UTF-8 with BOM, Chinese headers.
- ``x_sample.csv``: X/Twitter-style export (twarc-csv-like dotted headers), UTF-8.
- ``queries.tsv``: ``query_id<TAB>query``, no header.
- ``qrels.csv``: ``query_id,query,post_id,grade`` with grade 1-5 (UTF-8 with BOM).
- ``qrels.txt``: TREC qrels ``query_id 0 post_id gain`` with gain = grade - 1 (0-4).

To extend the sample, add posts to the topic lists at the bottom with
:func:`W` (Weibo) or :func:`X` (X); the first argument is the grade (1-5) of
the post for the topic's main query, or ``None`` when it is not graded;
``g={query_id: grade}`` grades it for other queries.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20231008
BEIJING = timezone(timedelta(hours=8))
TWITTER_EPOCH_MS = 1288834974657

WEIBO_HEADER = ["微博id", "用户昵称", "微博正文", "发布时间", "点赞数", "转发数", "评论数", "话题", "采集时间"]
X_HEADER = [
    "id", "created_at", "author.username", "text", "lang",
    "like_count", "retweet_count", "reply_count", "url",
]

#: query_id -> query text (Chinese, English and mixed; one colloquial).
QUERIES: dict[str, str] = {
    "asiangames_fireworks": "杭州亚运会闭幕式烟花",
    "ev_battery_breakthrough": "China's new EV battery breakthrough",
    "sodium_ion_mass_production": "钠离子电池量产 sodium-ion battery mass production",
    "binge_drama": "这剧太上头了停不下来",
    "sd_vs_midjourney": "Stable Diffusion 和 Midjourney 哪个好用",
    "shenzhen_ebike_rules": "深圳电动自行车限行政策",
    "typhoon_donation": "How can I donate to Typhoon Qingluan relief? 台风青鸾捐款渠道",
    "coffee_price_war": "9块9咖啡价格战",
}


# --------------------------------------------------------------------------- model


@dataclass
class Post:
    """One synthetic post before IDs, times and counts are assigned."""

    platform: str  # "weibo" | "x"
    text: str
    grade: int | None = None  # grade for the topic's main query
    g: dict[str, int] = field(default_factory=dict)  # grades for other queries
    key: str | None = None  # name other posts refer to (copies, reposts)
    author: str | None = None
    lang: str | None = None  # X only; default "en"
    day: str | None = None  # "YYYY-MM-DD" to pin the date; else random in the topic window
    copy_of: str | None = None  # key of the post this one copies / retweets
    # filled by build()
    topic: str = ""
    post_id: str = ""
    time: datetime | None = None
    counts: tuple[int, int, int] = (0, 0, 0)


def W(grade: int | None, text: str, **kw) -> Post:
    """A Weibo post graded ``grade`` for its topic's main query (None: ungraded)."""
    return Post("weibo", text, grade, **kw)


def X(grade: int | None, text: str, **kw) -> Post:
    """An X post graded ``grade`` for its topic's main query (None: ungraded)."""
    return Post("x", text, grade, **kw)


def W_COPY(key: str, **kw) -> Post:
    """An exact copy (same text, another account) of the Weibo post ``key``; inherits its grades."""
    return Post("weibo", "", None, copy_of=key, **kw)


def W_FWD(key: str, own: str, grade: int | None = None, **kw) -> Post:
    """A Weibo repost: ``own//@author:original text``; ``own`` may be the placeholder 转发微博."""
    return Post("weibo", own, grade, copy_of=key, **kw)


def X_RT(key: str, **kw) -> Post:
    """A retweet copy ``RT @author: text`` (cut at 140 characters) of the X post ``key``."""
    return Post("x", "", None, copy_of=key, **kw)


@dataclass(frozen=True)
class Topic:
    name: str
    query_id: str | None
    start: str  # "YYYY-MM-DD HH:MM" Beijing time
    end: str
    weibo_authors: tuple[str, ...]
    x_authors: tuple[str, ...]


# --------------------------------------------------------------------------- build

_TOPIC_RE = re.compile(r"#([^#\s][^#\n]{0,30}?)#")


def _weibo_mid(when: datetime, rng: random.Random) -> str:
    """A 16-digit Weibo-like ID that grows with time (not the real Weibo scheme)."""
    ts = int(when.timestamp())
    return str(4_600_000_000_000_000 + (ts - 1_600_000_000) * 4_000_000 + rng.randrange(4_000_000))


def _snowflake(when: datetime, rng: random.Random) -> str:
    """A 19-digit X snowflake ID for ``when`` (timestamp << 22 | random worker/sequence bits)."""
    ms = int(when.timestamp() * 1000) + rng.randrange(1000)
    return str(((ms - TWITTER_EPOCH_MS) << 22) | rng.randrange(1 << 22))


def _counts(rng: random.Random, boost: float) -> tuple[int, int, int]:
    likes = int(rng.lognormvariate(2.2 + boost, 1.6))
    reposts = int(likes * rng.uniform(0.0, 0.45))
    comments = int(likes * rng.uniform(0.0, 0.3))
    return likes, reposts, comments


def _weibo_count(value: int, rng: random.Random) -> str:
    if value == 0:
        return "无" if rng.random() < 0.6 else "0"
    if value >= 1000:
        return f"{value:,}"
    return str(value)


def build(topics: list[tuple[Topic, list[Post]]]) -> list[Post]:
    """Resolve copies, assign authors, times, IDs and counts (deterministic).

    Returns:
        Every post in file order (topics interleaved by time within each file).

    Raises:
        ValueError: a copy refers to an unknown key, or an ID repeats.
    """
    rng = random.Random(SEED)
    posts: list[Post] = []
    by_key: dict[str, Post] = {}
    for topic, items in topics:
        start = datetime.strptime(topic.start, "%Y-%m-%d %H:%M").replace(tzinfo=BEIJING)
        end = datetime.strptime(topic.end, "%Y-%m-%d %H:%M").replace(tzinfo=BEIJING)
        span = int((end - start).total_seconds())
        for i, p in enumerate(items):
            p.topic = topic.name
            pool = topic.weibo_authors if p.platform == "weibo" else topic.x_authors
            if p.author is None:
                p.author = pool[(i * 7 + len(p.text)) % len(pool)]
            if p.copy_of is not None:
                try:
                    orig = by_key[p.copy_of]
                except KeyError:
                    raise ValueError(f"post copies unknown key {p.copy_of!r} in topic {topic.name}") from None
                if p.author == orig.author:
                    p.author = pool[(pool.index(p.author) + 1) % len(pool)]
                if p.platform == "x":  # retweet copy
                    body = f"RT @{orig.author}: {orig.text}"
                    p.text = body if len(body) <= 140 else body[:139] + "…"
                    p.lang = orig.lang
                elif p.text:  # repost chain
                    p.text = f"{p.text}//@{orig.author}:{orig.text}"
                else:  # exact copy
                    p.text = orig.text
                if p.grade is None and not p.text.startswith("转发微博"):
                    p.grade, p.g = orig.grade, dict(orig.g)
                p.time = orig.time + timedelta(minutes=rng.randrange(3, 600))
            elif p.day is not None:
                day = datetime.strptime(p.day, "%Y-%m-%d").replace(tzinfo=BEIJING)
                p.time = day + timedelta(seconds=rng.randrange(8 * 3600, 86400))
            else:
                p.time = start + timedelta(seconds=rng.randrange(span))
            if p.platform == "x" and p.lang is None:
                p.lang = "en"
            boost = 3.0 if p.key else (1.0 if p.grade and p.grade >= 4 else 0.0)  # originals people copy
            p.counts = _counts(rng, boost=boost)
            p.post_id = _weibo_mid(p.time, rng) if p.platform == "weibo" else _snowflake(p.time, rng)
            if p.key:
                by_key[p.key] = p
            posts.append(p)
    ids = [p.post_id for p in posts]
    if len(set(ids)) != len(ids):
        raise ValueError("generated post IDs repeat; change SEED")
    return posts


def crawl_time(weibo: list[Post]) -> datetime:
    """When the Weibo sample was crawled: 3 hours after its newest post, on the hour (Beijing)."""
    newest = max(p.time for p in weibo)
    return (newest + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)


def weibo_time(when: datetime, crawled: datetime, index: int) -> str:
    """The publication time as a Weibo page shows it at ``crawled`` (m.weibo.cn style).

    Under a day old: ``刚刚``, ``N分钟前``, ``N小时前``; yesterday and the day before: ``昨天 HH:MM``,
    ``前天 HH:MM``; earlier the same year: one post in three as ``MM-DD HH:MM`` or ``M月D日 HH:MM``
    (no year); the rest ``YYYY-MM-DD HH:MM`` (what most crawlers write).
    """
    age = crawled - when
    if age < timedelta(minutes=1):
        return "刚刚"
    if age < timedelta(hours=1):
        return f"{int(age.total_seconds() // 60)}分钟前"
    if when.date() == crawled.date():
        return f"{int(age.total_seconds() // 3600)}小时前" if index % 2 else f"今天 {when:%H:%M}"
    days = (crawled.date() - when.date()).days
    if days in (1, 2):
        return f"{'昨天' if days == 1 else '前天'} {when:%H:%M}"
    if when.year == crawled.year and index % 3 == 0:
        return f"{when:%m-%d %H:%M}" if index % 2 else f"{when.month}月{when.day}日 {when:%H:%M}"
    return when.strftime("%Y-%m-%d %H:%M")


def write_all(posts: list[Post], out: Path) -> dict[str, int]:
    """Write the two exports, queries and qrels into ``out``.

    Returns:
        Row counts: ``{"weibo": n, "x": n, "qrels": n}``.
    """
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED + 1)
    weibo = sorted((p for p in posts if p.platform == "weibo"), key=lambda p: (p.time, p.post_id))
    xs = sorted((p for p in posts if p.platform == "x"), key=lambda p: (p.time, p.post_id))

    crawled = crawl_time(weibo)
    with open(out / "weibo_sample.csv", "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(WEIBO_HEADER)
        for i, p in enumerate(weibo):
            likes, reposts, comments = p.counts
            own = p.text.split("//@", 1)[0]
            tags = ",".join(dict.fromkeys(_TOPIC_RE.findall(own)))
            w.writerow([
                p.post_id, p.author, p.text, weibo_time(p.time, crawled, i),
                _weibo_count(likes, rng), _weibo_count(reposts, rng), _weibo_count(comments, rng), tags,
                crawled.strftime("%Y-%m-%d %H:%M"),
            ])

    with open(out / "x_sample.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(X_HEADER)
        for p in xs:
            likes, reposts, comments = p.counts
            if p.copy_of is not None:  # a retweet copy carries no engagement of its own
                likes = comments = 0
            created = p.time.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            w.writerow([
                p.post_id, created, p.author, p.text, p.lang, likes, reposts, comments,
                f"https://x.com/{p.author}/status/{p.post_id}",
            ])

    with open(out / "queries.tsv", "w", encoding="utf-8", newline="") as f:
        for qid, query in QUERIES.items():
            f.write(f"{qid}\t{query}\n")

    judged: list[tuple[str, str, int]] = []
    topic_query = {t.name: t.query_id for t, _ in TOPICS}
    for qid in QUERIES:
        for p in weibo + xs:
            grade = p.g.get(qid)
            if grade is None and topic_query[p.topic] == qid:
                grade = p.grade
            if grade is not None:
                if not 1 <= grade <= 5:
                    raise ValueError(f"grade {grade} of post {p.post_id} for {qid} is outside 1-5")
                judged.append((qid, p.post_id, grade))

    with open(out / "qrels.csv", "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["query_id", "query", "post_id", "grade"])
        for qid, pid, grade in judged:
            w.writerow([qid, QUERIES[qid], pid, grade])
    with open(out / "qrels.txt", "w", encoding="utf-8", newline="") as f:
        for qid, pid, grade in judged:
            f.write(f"{qid} 0 {pid} {grade - 1}\n")
    return {"weibo": len(weibo), "x": len(xs), "qrels": len(judged)}


# --------------------------------------------------------------------------- data
# Grades (for the topic's main query unless ``g=`` says otherwise):
# 5 = exactly the query's information need, 4 = relevant (less complete or less
# direct), 3 = related (same event, other facet, or a weak mention), 2 = hard
# negative (same topic or same words, different need), 1 = off-topic.

ASIAN_GAMES = Topic(
    "asian_games", "asiangames_fireworks", "2023-10-08 19:30", "2023-10-10 23:00",
    ("杭州小市民", "钱塘江边的风", "亚运小迷妹", "西湖边上看风景", "体育迷阿杰", "浙江吃货日记",
     "滨江打工人", "摄影师老周", "今天也要早睡呀", "萧山小土豆"),
    ("asia_sports_fan", "lena_travels", "marco_in_hz", "sportsdesk_asia", "kites_and_kimchi",
     "weatherwatch_cn", "riverside_rui"),
)
ASIAN_GAMES_POSTS = [
    W(5, "【闭幕式焰火表演圆满结束】今晚，杭州第19届亚运会闭幕式焰火在钱塘江畔和奥体中心上空绽放。据亚组委介绍，"
         "焰火采用低烟环保型产品，燃放约8分钟，以'桂花雨'和'潮涌'为主题。#杭州亚运会闭幕式# #闭幕式烟花#",
      key="ag_official", author="杭城资讯站", day="2023-10-08"),
    W(5, "#杭州亚运会闭幕式# 奥体中心上空的烟花一出来全场都在尖叫！金色的桂花造型真的绝了，在现场的我手都拍抖了[哈哈][哈哈]",
      day="2023-10-08"),
    W(5, "开幕式用的是数字烟花，闭幕式终于上了真烟花！钱塘江边看得清清楚楚，这波不亏[爱你]"),
    W(5, "闭幕式烟花的时候我在滨江江边，人挤人但是值了。记住了三个画面：一是漫天'桂花雨'，二是烟花拼出的'再见'，"
         "三是最后一秒整片江面被照成金色。回家路上还在回味，感觉这十六天像做了一场梦，明年这个时候会不会还想起今晚…全文"),
    W(4, "有人知道闭幕式烟花是几点开始的吗？看直播好像是21:50左右，想剪个视频[允悲]"),
    W(5, "闭幕式烟花那一段我循环看了十遍，红色和蓝色交替炸开的时候眼泪直接下来了[泪][泪] 杭州，再见！"),
    W(4, "冷知识求证：闭幕式焰火里那个荷叶形状的烟花，是在致敬吉祥物'莲莲'吗？有没有懂行的来说说 #杭州亚运会闭幕式#"),
    W(5, "第一次见从上往下看的焰火！朋友用无人机在管控区外拍的闭幕式烟花俯视视角，像一朵朵金桂在江面炸开，太治愈了。#闭幕式烟花#"),
    W(5, "闭幕式烟花三个关键词：环保、低噪、短时。组委会说燃放后两小时内完成江面保洁，这细节我服。"),
    W(4, "闭幕式烟花一放，我家猫直接钻进了衣柜，今晚它才是最盼着亚运会结束的那位[doge]"),
    W_FWD("ag_official", "江边视角比直播好看一百倍，烟花真的把整条钱塘江点亮了", 5),
    W_COPY("ag_official"),
    W_FWD("ag_official", "转发微博"),
    W(None, "转发微博"),
    W(2, "开幕式的数字火炬手点燃主火炬那一刻太震撼了，上亿人参与的线上火炬传递，科技感拉满 #杭州亚运会开幕式#",
      day="2023-09-23"),
    W(2, "开幕式没有放实体烟花，而是用AR数字烟花，环保又新颖，电视前看效果比现场还好[赞]", day="2023-09-23"),
    W(None, "亚运会开幕式的主火炬用的是零碳甲醇燃料，环保理念贯穿始终", day="2023-09-24"),
    W(2, "后天就要去看闭幕式了，杭州那天会下雨吗？求老天爷给个面子[拜拜]", day="2023-10-06"),
    W(2, "【天气】8日杭州多云转阴，傍晚起东北风3-4级，最低气温18℃，观看闭幕式的市民注意添衣。", day="2023-10-07"),
    W(2, "琮琮、莲莲、宸宸三个吉祥物的玩偶终于抢到了！莲莲最可爱，不接受反驳[心]", day="2023-10-02"),
    W(2, "科普：亚运吉祥物'江南忆'组合的灵感来自良渚古城、西湖和京杭大运河三大世界遗产。", day="2023-09-28"),
    W(None, "中国代表团本届亚运会金牌数突破200枚，奖牌榜遥遥领先，运动员们辛苦了！", day="2023-10-07"),
    W(3, "闭幕式上日本爱知·名古屋的接旗表演好可爱，2026年见！", day="2023-10-08"),
    W(3, "闭幕式的'数字人'又出现了，和运动员一起挥手告别，这个设计首尾呼应，泪目", day="2023-10-08"),
    W(2, "闭幕式散场后地铁4号线挤爆了，建议还在奥体的朋友错峰走", day="2023-10-08"),
    W(None, "闭幕式门票还能买到吗？官方渠道全显示售罄[泪]", day="2023-10-05"),
    W(1, "好怀念小时候过年放烟花，现在城区全禁了，一点年味都没有"),
    W(None, "亚运会乒乓球男单决赛看得我心脏骤停，最后一局太刺激了！", day="2023-10-01"),
    W(3, "亚运会闭幕式全程回顾：文艺表演、运动员入场、会旗交接、主火炬熄灭，两个小时一气呵成。"
         "看到主火炬慢慢熄灭那一刻还是很舍不得…全文", day="2023-10-08"),
    W(4, "闭幕式的烟花和主火炬熄灭是同一时刻吗？我在电视上看好像火炬一灭，江上的烟花就起来了", day="2023-10-08"),
    W(5, "一个摄影师的闭幕式烟花复盘：\n机位：钱江三桥南岸\n参数：ISO100，f/11，B门4秒\n心得：桂花形状的烟花炸得很低，长焦比广角出片",
      day="2023-10-09"),
    W(None, "今晚钱塘江的烟花是我见过最美的，没有之一。亚运会，再见了！#杭州亚运会闭幕式#", day="2023-10-08"),
    W(None, "闭幕式烟花没拍好，全是人头[允悲] 求现场大佬分享原图"),
    W(None, "西湖边新开了一家咖啡店，二楼窗口正对雷峰塔，适合发呆"),
    X(5, "Hangzhou #AsianGames closing ceremony: organisers said the fireworks used low-smoke, low-noise shells and "
         "lasted about 8 minutes. Clean-up boats were on the Qiantang River within 2 hours. https://t.co/Qm3vL8pXa2",
      key="ag_x_official", author="hz_daily_en", day="2023-10-08"),
    X(5, "The closing ceremony fireworks over the Qiantang River tonight were spectacular – golden osmanthus bursts "
         "&amp; a giant 'See you in Aichi-Nagoya' 🎆 https://t.co/k3Hq9ZpLw2", day="2023-10-08"),
    X(5, "Not gonna lie, I cried when the fireworks went off at the closing ceremony. 16 days went by way too fast 😭 "
         "#Hangzhou2022"),
    X(5, "开幕式是数字烟花，闭幕式是真烟花 — apparently the contrast was on purpose, per the ceremony team. "
         "Loved both tbh #AsianGames", lang="zh"),
    X_RT("ag_x_official"),
    X(5, "Drone shot of the closing-ceremony fireworks from above the Olympic Sports Centre. Never seen fireworks from "
         "this angle 🤯 https://t.co/Vd8wQ1nZ0c", author="drone_dave"),
    X(4, "Were the closing ceremony fireworks real or AR? Seeing conflicting posts. The opening ones were definitely digital."),
    X(2, "The digital torchbearer at the opening ceremony was the coolest thing I've seen at a sports event. "
         "100M+ people took part online. #AsianGames", day="2023-09-23"),
    X(2, "Hangzhou's opening ceremony skipped real fireworks for AR 'digital fireworks' to cut pollution. Smart move. "
         "https://t.co/Lr2sK9dTq1", day="2023-09-23"),
    X(2, "Rain in the forecast for Hangzhou on Sunday evening, fingers crossed it clears before the closing ceremony ☔",
      day="2023-10-06"),
    X(2, "Mascots Chenchen, Congcong &amp; Lianlian might be the cutest Asian Games mascots ever. Got all three plushies!",
      day="2023-10-03"),
    X(2, "China finishes top of the Hangzhou medal table with over 200 golds. Full table: https://t.co/Mb7cXr2eFp"),
    X(1, "Fireworks in my town on the 4th were so lame this year lol", day="2023-07-05"),
    X(None, "闭幕式的烟花太美了！杭州再见👋 #杭州亚运会", lang="zh", day="2023-10-08"),
    X(4, "Hangzhou closing ceremony: fireworks start around 21:50 local time. Replay of the whole show here 👉 "
         "https://t.co/Pz4hN6cWb8"),
    X(3, "The handover to Aichi-Nagoya 2026 at the closing ceremony was so wholesome 🇯🇵", day="2023-10-08"),
    X(4, "Anyone know if the Qiantang riverside is open to the public on closing night? Want to watch the fireworks "
         "from outside the stadium", day="2023-10-07"),
    X(5, "@lena_travels the fireworks were even better from the Qianjiang Third Bridge! Low gold bursts right over the "
         "water, way less smoke than I expected"),
    X(None, "Hangzhou's metro after the closing ceremony: absolute chaos but very well organised chaos 😅"),
    X(5, "Photo essay: the Hangzhou closing ceremony fireworks, shot from three riverside spots. Gold, then red, then a "
         "sky full of osmanthus. https://t.co/Ph0tOsEss4"),
    X(None, "Tickets for the Asian Games closing ceremony sold out in minutes. Any legit resale? 😩", day="2023-10-04"),
    X(3, "The closing ceremony's digital human waving goodbye got me. What a send-off, Hangzhou."),
    X(None, "New osmanthus latte at my local café tastes like autumn in Hangzhou 🍂"),
]

NA = "sodium_ion_mass_production"
EV_BATTERY = Topic(
    "ev_battery", "ev_battery_breakthrough", "2025-03-01 08:00", "2025-04-30 23:00",
    ("新能源观察员", "汽车老司机王师傅", "数码科技宅", "财经小K", "城市通勤族", "理工男的日常",
     "绿色出行派", "储能圈老李"),
    ("battery_bill", "greentech_sam", "chinaauto_watch", "range_anxious", "cell_chemist", "markets_mira"),
)
EV_BATTERY_POSTS = [
    W(5, "【钠离子电池量产装车】据供应商公告，首款搭载钠离子电池的量产车型本月起交付，电芯能量密度约160Wh/kg，"
         "-20℃容量保持率超过90%。#钠离子电池# #新能源汽车#", g={NA: 5}, key="ev_na", author="电池那些事"),
    W(5, "固态电池又有新进展：某头部电池厂发布半固态电池，能量密度360Wh/kg，号称续航破1000公里。"
         "但量产时间表还没给，理性看待[思考]", g={NA: 2}),
    W(5, "磷酸铁锂也能5C超充了？充电10分钟跑400公里，这回是真的卷到电池本身了 #电池技术突破#", g={NA: 2}),
    W(4, "钠电池便宜是便宜，但能量密度还是比锂电低一截，目前更适合A00级小车和两轮车。别被'颠覆锂电'的标题党骗了。",
      g={NA: 4}),
    W(5, "中国电池技术突破也太快了，去年还在说4C，今年已经奔着10C闪充去了，燃油车真的要慌了[哈哈]", g={NA: 1}),
    W(4, "全固态电池什么时候能上车？翻了几家企业的路线图，基本都是2027年小批量装车、2030年前后规模化。"
         "界面阻抗、锂枝晶和成本是三座大山，哪座先翻过去决定谁先量产。收藏备用…全文", g={NA: 2}),
    W(2, "某新势力车企三季度财报：营收同比增长23%，但净利润下滑，毛利率被价格战拖累。#车企财报#", g={NA: 1}),
    W(2, "动力电池回收新规征求意见稿出来了：生产者责任延伸，电池要有'身份证'，回收利用率有硬指标。", g={NA: 1}),
    W(2, "碳酸锂价格跌回每吨十万以下，电池成本又降了，明年电动车还得继续降价吧", g={NA: 2}),
    W(2, "钠离子电池量产了又怎样，我家楼下的充电桩还是天天被油车占[怒]", g={NA: 3}),
    W(3, "科普：钠离子电池和锂电池有啥区别？钠资源丰富、成本低、低温性能好、热稳定性高；缺点是能量密度低、"
         "循环寿命还在追赶。适合储能和入门车型。", g={NA: 4}),
    W_COPY("ev_na"),
    W_FWD("ev_na", "转发微博"),
    W(2, "刚提了新车，冬天续航直接打七折，空调一开心都凉了[泪]", g={NA: 1}),
    W(4, "车展上最热的不是车，是电池：每家发布会都在讲几C快充、多少Wh/kg，车反倒成了配角 #车展#", g={NA: 2}),
    W(2, "电池技术突破喊了这么多年，为什么我的手机还是一天一充[doge]", g={NA: 1}),
    W(4, "有消息称某电池巨头的第二代钠电池能量密度将突破200Wh/kg，目前还没看到官方数据，等发布会再说。", g={NA: 4}),
    W(3, "钠离子电池储能电站在湖北并网，规模100MWh，是钠电第一次在电网储能上这么大规模地用起来。", g={NA: 4}),
    W(2, "电动车起火的新闻看多了，对电池有点阴影。新技术能不能先把安全做好", g={NA: 1}),
    W(None, "动力电池安全新国标明年实施，要求热失控后'不起火、不爆炸'，倒逼电池厂升级。"),
    W(3, "问：钠离子电池车值得买吗？答：通勤够用、冬天友好、价格香，跑长途还是算了。", g={NA: 4}),
    W(5, "充电5分钟，续航400公里——兆瓦闪充发布会看得我头皮发麻，真·跟加油一样快", g={NA: 1}),
    W(4, "#电池技术# 半固态电池的核心就两样：硅碳负极+高镍正极，再加一点固态电解质。今天画了张图讲清楚→全文", g={NA: 1}),
    W(None, "车企财报季，谁在赚钱谁在亏，一张表看懂"),
    W(None, "电池回收小作坊乱象：拆下来的电池随地堆放，废液直接倒，新规真该管管了"),
    W(None, "固态电池概念股今天集体涨停，韭菜们又冲了[吃瓜]"),
    W(3, "钠离子电池的三个误区：\n1. 它不是来替代锂电的，是补充\n2. 不是不能跑长途，是能量密度低、电池包更重\n"
         "3. 不是不安全，反而更耐热", g={NA: 4}),
    W(5, "国产电池这次真的支棱起来了：钠电装车、固态样件、铁锂5C，三条路线同时开花。作为干了十年的电池工程师，"
         "看到这一天有点想哭[泪]", g={NA: 4}),
    W(5, "刚看完发布会：新一代磷酸铁锂电池支持10C充电，峰值功率1000kW，5分钟补能400公里，年内量产装车。"
         "电池技术这次又往前迈了一大步。", g={NA: 1}),
    W(None, "充电宝能带上飞机吗？100Wh以下随便带，超过要航司批准"),
    W(None, "家里的电动牙刷电池鼓包了，还能用吗"),
    W(4, "说点实在的：这两年中国电池的'突破'可以分三类看。第一类是材料体系的变化，比如钠离子电池，它不追求更高能量密度，"
         "而是用更便宜、更耐低温的钠去替代一部分锂，适合小车和储能；第二类是快充，磷酸铁锂从2C、4C一路做到5C甚至更高，"
         "靠的是更细的颗粒、更好的电解液和热管理；第三类是固态，半固态已经小批量装车，全固态还在样件阶段。"
         "看新闻时先分清是哪一类、是样件还是量产，就不容易被标题带跑。#电池技术突破#", g={NA: 3}),
    X(5, "Sodium-ion batteries are finally going into mass-produced cars in China: ~160 Wh/kg and 90% capacity at "
         "-20°C, per the supplier. Big deal for cheap EVs. https://t.co/Na1onC9ell", g={NA: 5}, key="ev_x_na",
      author="evdigest"),
    X(5, "A new LFP pack charges 10→80% in about 10 minutes (5C). Chinese cell makers are making fast charging the "
         "default, not a premium feature. #EV #batteries", g={NA: 2}),
    X(5, "Semi-solid-state cells at 360 Wh/kg with a claimed 1,000 km range. Impressive on paper, but no volume date "
         "yet. Skeptical until it ships. https://t.co/Ss7dQ2wPx4", g={NA: 2}),
    X(5, "Megawatt 'flash charging': ~5 minutes for 400 km of range. If this scales, range anxiety is basically over "
         "in China. Grid capacity is the next bottleneck.", g={NA: 1}),
    X(4, "钠离子电池 mass production is real now, but people overhype it. Lower energy density = city cars &amp; "
         "grid storage, not long-range sedans.", g={NA: 5}),
    X(2, "Q3 results from Chinese EV makers: revenue up, margins crushed by the price war. Not a great quarter for anyone.",
      g={NA: 1}),
    X(2, "China's draft rules on EV battery recycling: producer responsibility, a battery 'ID' for tracking, "
         "recovery-rate targets. Reasonable &amp; overdue. https://t.co/Rc9yCl3Rul", g={NA: 1}),
    X(2, "Battery 'breakthrough' headlines every week and yet my phone still dies at 3pm 🙃", g={NA: 1}),
    X_RT("ev_x_na"),
    X(2, "Lithium carbonate fell below 100k yuan/t. Great for EV prices, awkward for the sodium-ion business case?",
      g={NA: 3}),
    X(4, "All-solid-state batteries: most Chinese roadmaps say small batches ~2027, scale ~2030. A thread on what's "
         "actually hard (interfaces, dendrites, cost) 🧵", g={NA: 2}),
    X(3, "A 100 MWh sodium-ion grid storage station just connected in Hubei, the first at this scale. "
         "https://t.co/Gr1dNa100m", g={NA: 4}),
    X(3, "Is it just me or is every Chinese EV launch now a battery launch? The car is an afterthought lol", g={NA: 1}),
    X(1, "E-bike battery fire in my building last night. Everyone's fine but it was scary. Please don't charge them "
         "in the hallway.", g={NA: 1, "shenzhen_ebike_rules": 2}),
    X(None, "Another round of EV price cuts in China this week. Buyers are just waiting for the next one."),
    X(4, "Sodium-ion vs LFP in one chart: cost per kWh, energy density, cold-weather performance, cycle life. "
         "https://t.co/Ch4rtNaLfp", g={NA: 4}),
    X(None, "Solid-state batteries will save us all!!! (ships in 2030, maybe)"),
    X(5, "中国电池新突破：钠电池开始量产装车，铁锂快充进入5C时代，固态电池样件已经在路测。"
         "This is the year batteries became the story.", lang="zh", g={NA: 4}),
    X(4, "@battery_bill the cold-weather numbers are the real story imo. Sodium-ion keeping 90% at -20°C matters way "
         "more in Harbin than another +10% energy density.", g={NA: 4}),
    X(5, "Chinese battery makers unveiled a dual-chemistry pack that mixes sodium-ion and LFP cells to fix "
         "cold-weather range. Clever engineering. https://t.co/Dc9pAcKx7s", g={NA: 4}),
    X(None, "EV charging points in China passed 10 million. Infrastructure is catching up fast."),
    X(None, "My laptop battery is at 62% health after two years. Sad."),
]

DRAMA = Topic(
    "binge_drama", "binge_drama", "2024-07-10 08:00", "2024-08-10 23:59",
    ("深夜剧场", "影视观察家", "熬夜冠军小鹿", "吃瓜群众本瓜", "豆瓣小组搬运工", "社畜的快乐时光",
     "周边控阿晴", "剧荒星人"),
    ("fogharbor_fan", "mei_watches", "seriesjunkie", "asianscreen_news", "ling_reads", "nightowl_nina"),
)
DRAMA_POSTS = [
    W(5, "《雾港来信》太上头了！！昨晚本来只想看一集，结果一抬头天亮了[泪][泪] 谁来救救我的黑眼圈"),
    W(5, "这剧有毒，每集结尾都留一个钩子，根本停不下来，已经连刷12集了 #雾港来信#", key="dr_hook"),
    W(5, "救命，追《雾港来信》追到凌晨三点，明天还要上班，但我还想再看一集[允悲]", key="dr_3am", author="追剧少女阿May"),
    W(None, "上头程度：吃饭看、地铁上看、排队也看。谁懂啊家人们 #雾港来信#"),
    W(4, "一口气看完了《雾港来信》前20集，剧情紧凑不注水，推荐给剧荒的朋友"),
    W(2, "《雾港来信》剧评：前五集节奏极佳，中段感情线略拖，摄影和配乐是国产剧里少见的水准，结局的反转铺垫充分但略显仓促。"
         "综合7.5分，适合喜欢慢热悬疑的观众…全文"),
    W(2, "理性讨论：《雾港来信》的叙事结构借鉴了书信体小说，每集以一封信开头，信的寄出时间和剧情时间线并不一致，"
         "这是理解结局的关键。"),
    W(2, "《雾港来信》官方周边上线了：信封文具套装、雾港明信片，已下单[笑cry]"),
    W(2, "男主官宣新剧了！《雾港来信》之后无缝进组，演员本人好拼"),
    W(2, "《雾港来信》豆瓣开分8.1，比预期高"),
    W(5, "每天下班就等更新，更新完就空虚，这剧是不是给我下蛊了[泪]"),
    W(5, "会员加更一口气看6集，钱包和睡眠双双阵亡，但是值！"),
    W(2, "为啥大家都说这剧上头？我看了两集觉得一般啊，节奏好慢"),
    W(2, "剧荒求推荐！要那种一看就停不下来的，悬疑、刑侦都可以"),
    W(3, "这个综艺太上头了，每期都笑到打鸣[哈哈]"),
    W(1, "打游戏太上头了停不下来，一抬头凌晨四点了"),
    W(3, "《雾港来信》片尾曲单曲循环一整天了，歌词写得太好"),
    W(4, "已经二刷《雾港来信》了，第二遍才发现第一集的信就埋了大结局的伏笔！！"),
    W(5, "妈妈问我为什么还不睡，我说在学习。其实在看《雾港来信》第28集[doge]"),
    W(None, "《雾港来信》收视率破2，平台热度值破万"),
    W(None, "转发微博"),
    W_COPY("dr_hook"),
    W(5, "这剧上头到什么程度：我把倍速从2.0调回了1.0，一帧都舍不得跳"),
    W_FWD("dr_3am", "同款熬夜人举手🙋", 4),
    W(2, "《雾港来信》女主那件灰色风衣同款在哪买？求链接"),
    W(2, "《雾港来信》拍摄地在舟山？周末想去打卡"),
    W(5, "本打工人宣布：《雾港来信》是今年唯一一部让我请假追完的剧。周五请了一天假，从早上九点看到晚上十一点，"
         "大结局看完坐在沙发上发了半小时呆。上头，真的上头。"),
    W(3, "《雾港来信》第15集那场雨中对峙，演技炸裂，反复看了好几遍"),
    W(1, "这件衣服太上头了，已经买了三个颜色"),
    W(2, "追剧熬夜对身体伤害有多大？医生提醒：连续熬夜会影响免疫力"),
    W(None, "追《雾港来信》的第五天：已经学会了一边刷牙一边看，一边洗澡一边听。谁也别拦我。"),
    W(None, "《雾港来信》原著小说要出新版了，附赠番外"),
    X(5, "Just binged 10 episodes of 雾港来信 Letters from Fog Harbor in one night. I have work in 4 hours. "
         "No regrets. #cdrama"),
    X(5, "This cdrama is SO addictive, I can't stop. Every episode ends on a cliffhanger 😭 #LettersFromFogHarbor",
      key="drx_addict", author="cdramadaily"),
    X(5, "这剧真的太上头了，根本停不下来，谁来把我手机收走😭", lang="zh"),
    X(2, "Letters from Fog Harbor review: gorgeous cinematography, sluggish middle act, and a finale that mostly earns "
         "its twists. 7.5/10 https://t.co/Fh8rEvw75x"),
    X(2, "The official Fog Harbor merch drop (stationery set + postcards) sold out in 20 minutes lol"),
    X(2, "Lead actor of Letters from Fog Harbor confirmed for a new period drama next year. https://t.co/Cst9nEws01"),
    X(5, "My sleep schedule has been destroyed by a Chinese drama and honestly? worth it. #雾港来信"),
    X_RT("drx_addict"),
    X(3, "Need recs: something I can't stop watching, the way I couldn't stop with Fog Harbor"),
    X(1, "Can't stop playing this game, it's 4am, send help"),
    X(2, "Fog Harbor passed 2 billion views on the platform, according to the streamer's own stats."),
    X(4, "追剧追到上头 but the ending was... meh. Still, the first 20 eps were unputdownable"),
    X(None, "Watching Fog Harbor at 2x speed is a crime. Every frame is a painting."),
    X(2, "Fog Harbor's filming location in Zhoushan is now a tourist hotspot 📸 https://t.co/Zs8hFgTr2k"),
    X(5, "day 3 of telling myself 'just one more episode' &amp; then finishing 6. fog harbor has a hold on me"),
    X(4, "Started Letters from Fog Harbor 'just to see what the hype is about'. That was 14 episodes ago."),
    X(3, "Is Fog Harbor worth watching? Trailer looks slow but everyone on my TL is obsessed"),
    X(None, "Finished Letters from Fog Harbor in 4 days. 36 episodes. I regret nothing and I also need sleep."),
    X(None, "Fog Harbor director interview: why every episode opens with a letter. https://t.co/Dir3ctInt9"),
]

SD_MJ = Topic(
    "sd_vs_mj", "sd_vs_midjourney", "2024-05-01 08:00", "2024-06-30 23:59",
    ("插画师小满", "设计狗的日常", "显卡战神", "科技早知道", "产品经理阿飞", "学生党小林", "电商美工大刘",
     "像素漫游者"),
    ("pixel_pilgrim", "gpu_deals", "aiwire_news", "inkandtensor", "coverdesigner_j", "latent_lucy"),
)
SD_MJ_POSTS = [
    W(5, "用了一个月Midjourney、一个月Stable Diffusion，说下感受：MJ出图审美在线、上手快；SD可控性强、能本地跑、"
         "插件多但折腾。新手选MJ，想精细控制选SD。#AI绘画#", key="sd_cmp", author="AI绘画研究所"),
    W(5, "SD本地部署差点把我的显卡干冒烟，还是MJ省心，一个月几十块钱换个不折腾[允悲]"),
    W(5, "Midjourney画手终于不是六根手指了，但想指定人物姿势还是得SD+ControlNet"),
    W(5, "作为插画师说一句：SD可以训练自己画风的LoRA，MJ做不到；MJ的风格参考功能方便，但出来的东西总有一股'MJ味'。"
         "商用版权两家都要看条款。"),
    W(5, "MJ v6的写实照片效果太顶了，SDXL得调半天参数才能接近"),
    W(3, "Stable Diffusion WebUI安装教程（Windows篇）：显存8G以上，Python 3.10，一步一步来，评论区答疑…全文"),
    W(3, "Midjourney又涨价了？基础版订阅还值不值得续？"),
    W(2, "显卡又涨价了，4090二手都炒上天，玩AI绘画的门槛越来越高"),
    W(2, "某公司发布新一代大模型，号称在多个榜单超越GPT-4 #人工智能#"),
    W(2, "AI绘画到底算不算艺术？插画圈又吵翻了"),
    W(3, "ComfyUI工作流分享：一键生成电商模特图，节点图放评论区"),
    W(5, "SD和MJ哪个好？别问，问就是都用：MJ出草图找灵感，SD局部重绘精修。工作流就是这么朴实无华[doge]"),
    W(4, "学生党订不起MJ，只能SD白嫖，好在B站教程够多"),
    W_COPY("sd_cmp"),
    W_FWD("sd_cmp", "转发微博"),
    W(3, "国产AI绘画工具也不差了，中文提示词理解比MJ好，免费额度还多"),
    W(2, "AI生成的图片、视频要标注'AI生成'，新规9月起施行"),
    W(4, "Midjourney终于有网页版了，不用再在Discord里跟几万人挤一个频道[哈哈]"),
    W(5, "给公司选AI绘图工具写了份对比报告，结论：数据安全看SD（可本地部署、素材不出内网）；出图效率看MJ"
         "（无需硬件、审美稳定）；成本看用量，月出图过千张SD更划算。"),
    W(3, "显卡风扇狂转，房间变桑拿，这就是跑SD的代价吗"),
    W(2, "AI生成的图片能不能有著作权？法院最新判例来了"),
    W(2, "文生视频模型又刷屏了，生成效果太惊人"),
    W(4, "电商美工的真实体验：做主图背景SD更好用，能批量换背景；MJ出海报氛围感强，但文字基本没法用。"),
    W(1, "今天的晚霞像一幅油画，不用AI都这么好看"),
    W(5, "从MJ转SD半年的感受：\n优点：免费、可控、模型多\n缺点：环境配置劝退、显卡要求高\n"
         "结论：愿意折腾就转，不然老老实实交MJ的月费"),
    W(4, "求问：做产品海报，SD和MJ哪个更适合？预算有限，电脑是3060显卡"),
    W(2, "AI绘画模型训练用了大量未授权作品，画师们发起联名抗议"),
    X(5, "Midjourney vs Stable Diffusion after 6 months of daily use: MJ wins on out-of-the-box aesthetics, SD wins on "
         "control (ControlNet, LoRAs, inpainting) &amp; privacy. Pick by how much you like to tinker.",
      key="sdx_cmp", author="promptcraft"),
    X(5, "SD on my 3060 takes 40s per image, MJ gives me 4 in 30s. I'm paying the $10 lol"),
    X(5, "Hot take: Midjourney is a vending machine, Stable Diffusion is a workshop. Both have their place."),
    X(2, "GPU prices are insane again. A used 4090 costs more than it did new. https://t.co/Gp4u2Xq9Lm"),
    X(2, "Another frontier model announced today. The AI news cycle is exhausting."),
    X(5, "Stable Diffusion 和 Midjourney 我都用过，说实话画二次元 SD + 一个好的 LoRA 每次都赢 MJ", lang="zh"),
    X(4, "Midjourney's new web editor is great, finally no more Discord spam"),
    X_RT("sdx_cmp"),
    X(3, "How do I install ComfyUI on an M2 Mac? Getting a torch error &lt;sigh&gt;"),
    X(2, "AI art generators are eating freelance illustration jobs, survey says https://t.co/Ar7tJbZ2sV"),
    X(4, "Is Midjourney worth it if I already have a decent GPU for Stable Diffusion? Genuinely asking"),
    X(5, "Tried DALL·E, Midjourney and SD for a book cover. MJ gave the best first draft, SD let me fix the title area "
         "with inpainting. DALL·E… exists."),
    X(2, "Chipmaker earnings beat again; data-centre revenue up big. https://t.co/Nv8eRn1Ngs"),
    X(3, "My SD prompt: 'masterpiece, best quality'. My result: a potato. AI art is hard 😂"),
    X(4, "@pixel_pilgrim if you care about consistent characters, SD with a trained LoRA. MJ's character reference "
         "is close but drifts after a few images."),
    X(1, "Painted my first watercolour landscape today, no AI involved 🎨"),
    X(5, "Midjourney for moodboards, Stable Diffusion for final assets. My team's workflow after trying both for a quarter."),
    X(2, "AI image generators must label their outputs under new rules in China from September."),
]

SZ = "shenzhen_ebike_rules"
SHENZHEN = Topic(
    "shenzhen_ebike", SZ, "2024-11-01 07:00", "2024-11-20 23:00",
    ("南山打工人", "福田上班族", "外卖小哥老陈", "龙华宝妈", "深圳本地通", "骑行爱好者阿强", "宝安小透明",
     "罗湖老街坊"),
    ("shenzhen_eye", "delivery_lens", "pearl_river_post", "mike_in_sz", "gba_daily"),
)
SHENZHEN_POSTS = [
    W(5, "【电动自行车限行通告】即日起，深南大道、滨河大道、北环大道等12条主干道全天禁止电动自行车通行，"
         "违者予以警告或处50元以上200元以下罚款。详见交警部门通告。#深圳电动车限行#",
      key="sz_rule", author="深圳交通播报", day="2024-11-01"),
    W(5, "深圳电动自行车新规要点：1）必须上牌；2）部分路段、时段限行；3）不戴头盔要罚款；4）只能搭载一名12岁以下儿童。"
         "收藏转发！", key="sz_points"),
    W(4, "又限行？我每天骑电驴上班20分钟，改坐地铁要换乘两次、50分钟，谁来管管打工人[怒]"),
    W(4, "深圳限电这么多年了，外卖小哥怎么办？电动车是他们吃饭的家伙，限行路段一多，每单都得绕路"),
    W(4, "有人知道福田区哪些路段早晚高峰限行电动车吗？被交警拦了才知道[泪]"),
    W(2, "电动自行车在小区电梯里起火，吓死人了，电池质量真得好好管"),
    W(2, "电动自行车以旧换新补贴来了，交旧车买新车最高补贴500元"),
    W(2, "深圳新能源小汽车指标又放了一批，摇号中签率提高了"),
    W(2, "外卖骑手收入调查：月入过万的不到一成，大多数每天跑12小时以上"),
    W(4, "深圳禁摩限电十几年，街上还是满大街电动车，执法全看心情"),
    W(5, "深圳电动自行车限行新规解读：限的是'路段+时段'，不是全面禁止。非机动车道完整的路段仍然可以通行，"
         "快递、外卖等企业车辆需备案并统一标识。具体路段以交警公布的名单为准，建议出门前查一下导航的非机动车路线…全文"),
    W(4, "被扣车了，罚了200，原因是没上牌。深圳的朋友们赶紧去上牌吧！"),
    W(2, "骑电动车不戴头盔的都是勇士[doge]"),
    W(3, "广州也要搞电动车限行了？是跟深圳学的吗"),
    W_COPY("sz_points"),
    W(None, "转发微博"),
    W(4, "深圳限行的本意是安全，但配套的非机动车道呢？南山很多路根本没有自行车道，电动车只能跟汽车抢道。"),
    W(1, "今天天气超好，骑共享单车去了深圳湾公园，海风好舒服"),
    W(4, "电动车上牌流程：带购车发票、合格证、身份证去登记点，现场发牌，不收费。深圳可以线上预约。"),
    W_FWD("sz_rule", "12条路全天禁行，我上班那条正好在里面，明天开始要早起40分钟了[泪]", 4),
    W(4, "电动车限行之后深南大道确实清爽了，但旁边小路全是电动车，挤得更厉害了"),
    W(2, "深圳地铁早高峰太挤了，被挤成照片"),
    W(5, "限行路段违规怎么罚？首次警告，再犯罚款，拒不改正的可以暂扣车辆。交警说前两周以劝导为主。"),
    W(3, "电动车限行后，共享单车的生意肯定更好了[doge]"),
    W(2, "新国标电动车限速25公里，骑起来像在散步"),
    W(5, "深圳交警：限行路段都设置了'禁止电动自行车通行'标志，导航APP同步更新，骑行前可以在交警公众号查询限行地图。"),
    W(4, "作为深圳快递员说句实话：限行可以理解，但能不能给我们留条道？现在送一单要多绕两公里"),
    X(5, "Shenzhen bans e-bikes on 12 major roads incl. Shennan Blvd starting today. Fines of 50–200 yuan for "
         "violators. Delivery riders are not happy. https://t.co/Sz12RdBanX", key="szx_ban", author="sz_commuter",
      day="2024-11-01"),
    X(4, "深圳电动自行车限行 again. Every few years they tighten it, enforcement is patchy, and riders find workarounds."),
    X(5, "Delivery riders in Shenzhen say the new e-bike road restrictions add 15-20 min per order, and platforms "
         "haven't adjusted delivery times. https://t.co/Dl9vRdR1dr"),
    X(2, "China's new national standard for e-bike batteries aims to cut fires. Long overdue. https://t.co/Eb8sTdBatt"),
    X(4, "Got a 200 yuan ticket in Shenzhen for riding an e-bike without a plate. Lesson learned 🙃"),
    X(2, "Shenzhen might be the best city in the world for EV cars. Chargers everywhere."),
    X(5, "Explainer: Shenzhen's e-bike rules are road + time-window restrictions, not a blanket ban. Here's what "
         "changed this month 🧵 https://t.co/Ex9lNr0Sz1"),
    X_RT("szx_ban"),
    X(4, "Honestly the e-bike restrictions in Shenzhen made my walk to work safer. Fewer near-misses on the pavement."),
    X(2, "Bought a new e-bike with the trade-in subsidy, saved 500 yuan 🚲"),
    X(1, "Shenzhen Bay at sunset is unreal 🌅"),
    X(3, "Shanghai and Guangzhou keep debating e-bike limits too. Shenzhen is always the first to try."),
    X(4, "Shenzhen's e-bike ban on main roads: safety win or a blow to gig workers? Both, probably. Thoughts?"),
    X(2, "E-bike sales in China hit a record this year, mostly lithium models."),
    X(5, "Shenzhen traffic police: first offence on a restricted road = warning, repeat = fine, refusal = bike "
         "impounded. Two-week grace period. https://t.co/Gr4cePdSz2"),
    X(3, "Rode an e-bike across Shenzhen for a day as a tourist. Honestly confusing which roads allow it."),
]

TYPHOON = Topic(
    "typhoon", "typhoon_donation", "2024-09-05 06:00", "2024-09-12 23:00",
    ("气象小哥", "粤西小渔村", "爱心志愿者小周", "打工人阿芳", "机场滞留者", "湛江生活圈", "海边长大的孩子",
     "公益小蜜蜂"),
    ("stormtracker_asia", "travelwithtom", "scamwatch_cn", "corp_giving_hk", "south_china_notes"),
)
TYPHOON_POSTS = [
    W(5, "【台风青鸾救灾募捐通道】市慈善会已开通定向捐款，可通过官方公众号'我要捐款'入口或各区线下网点捐赠，"
         "善款专项用于受灾群众生活安置和房屋修缮。请认准官方渠道！#台风青鸾#",
      key="ty_official", author="粤西公益联盟", day="2024-09-07"),
    W(4, "想给台风灾区捐点钱，有没有靠谱的渠道？怕被骗[泪]"),
    W(4, "提醒：最近有人冒充红十字会发台风募捐链接，要求转到私人账户的都是骗子！正规募捐只用对公账户。"),
    W(3, "我们公司组织了台风青鸾捐款，我捐了200，希望灾区的大家都平安[心]"),
    W(2, "台风青鸾今天下午在粤西沿海登陆，登陆时中心附近最大风力14级。#台风青鸾#", day="2024-09-06"),
    W(2, "停课通知：受台风影响，全市中小学、幼儿园明天停课一天", day="2024-09-05"),
    W(2, "航班取消了，被困机场一晚上，台风快走吧[泪]", day="2024-09-06"),
    W(5, "捐物资的朋友注意：灾区目前最缺饮用水、应急灯、充电宝和婴儿奶粉，不需要旧衣服。接收点：市体育馆东门，每天9:00-18:00。",
      key="ty_goods", author="公益小蜜蜂", day="2024-09-08"),
    W(5, "线上捐款路径：支付宝或微信搜索'台风青鸾 救灾'，选择有公募资质的基金会项目，捐完可以在项目页查善款去向。",
      key="ty_online", day="2024-09-07"),
    W(3, "台风过后，志愿者在清理倒伏的树木和淤泥，辛苦了！"),
    W(4, "截至今晚，台风青鸾专项募捐已筹得善款3200万元，将分批拨付受灾乡镇。还想捐的可以继续通过慈善会官方渠道。",
      day="2024-09-10"),
    W(2, "台风把我家阳台的花全吹没了，心疼[泪]"),
    W(2, "风好大，窗户一直在响，第一次经历台风有点怕", day="2024-09-06"),
    W(2, "这次台风路径预报真准，气象台yyds"),
    W(2, "青鸾刚走，又来一个热带低压，这个秋天不太平"),
    W_FWD("ty_official", "转发微博"),
    W_COPY("ty_online"),
    W(3, "捐款就捐款，别搞'捐款排行榜'了，企业捐多少跟网友有啥关系"),
    W(2, "台风天还在送外卖的小哥太不容易了，多给点小费吧"),
    W(4, "献血也是一种帮助：灾区医院血库告急，附近的朋友可以去中心血站，记得吃早饭再去。"),
    W_FWD("ty_goods", "已经送了两箱水过去，现场志愿者说充电宝缺口最大", 4),
    W(5, "整理了台风青鸾可以捐款的正规渠道：\n1. 市慈善会官方公众号\n2. 红十字会官方网站\n"
         "3. 支付宝/微信公益平台上有公募资质的基金会项目\n不要相信私信发来的个人收款码！"),
    W(1, "好想去海边度假，有没有推荐的海岛？"),
    W(2, "台风过境后菜价涨了一倍，青菜都要8块一斤了"),
    W(5, "【紧急募捐】台风青鸾受灾地区急需物资，省红十字会已开通捐款热线和官方账户，款物均可捐赠，详情见官网公告。"),
    W(2, "台风登陆前，渔船全部回港避风，渔民大哥们辛苦了", day="2024-09-05"),
    W(3, "在灾区做志愿者的第三天，最大的感受是：大家都在互相帮忙，这座城会好起来的"),
    W(4, "学校发起了为台风灾区捐款的倡议，可以通过学校官方账号统一捐，也可以自己去慈善会官网捐"),
    X(5, "Typhoon Qingluan relief: official donation channels are the city charity federation's account and registered "
         "public-fundraising foundations. Never send money to personal accounts. https://t.co/Tq9rLfDn8t",
      key="tyx_official", author="gd_relief", day="2024-09-07"),
    X(2, "Typhoon Qingluan made landfall in western Guangdong this afternoon with winds up to force 14. "
         "https://t.co/Ty14LnDfGd", day="2024-09-06"),
    X(2, "Flight cancelled because of the typhoon, stuck at the airport. Send snacks.", day="2024-09-06"),
    X(5, "台风青鸾 donation: 支付宝 search '台风青鸾 救灾', pick a foundation with 公募资质, and you can track where "
         "the money goes 🙏", lang="zh"),
    X(4, "Scam alert: fake Red Cross links asking for typhoon donations are going around. Official appeals never use "
         "personal bank accounts."),
    X(4, "Our company is matching employee donations for Typhoon Qingluan relief, up to $500 each. DM me for the form."),
    X(2, "Praying for everyone in the path of Typhoon Qingluan 🙏", day="2024-09-05"),
    X_RT("tyx_official"),
    X(4, "What do shelters in Zhanjiang actually need? Heard it's water, flashlights, power banks &amp; baby formula, "
         "NOT old clothes."),
    X(2, "This typhoon season is wild. Third storm in a month."),
    X(2, "Schools closed tomorrow due to Typhoon Qingluan, stay safe everyone", day="2024-09-05"),
    X(5, "If you're overseas and want to help with Typhoon Qingluan: the Red Cross Society's international donation "
         "page accepts cards. Use the link from their official site only: https://t.co/Rc5dOnAt3x"),
    X(3, "Volunteers clearing fallen trees in the rain after Qingluan. Real heroes."),
    X(2, "Typhoon Qingluan track update: weakening to a tropical storm as it moves inland. https://t.co/Tr4ckUpd8t",
      day="2024-09-07"),
    X(4, "Donated to the Typhoon Qingluan appeal via the charity federation. Took 2 minutes. If you can, please do too ❤️"),
    X(1, "Beach holiday photos from Hainan, the weather was perfect 🏖️"),
    X(2, "Power's back after 30 hours. Thank you to the repair crews working through Qingluan."),
]

COFFEE = Topic(
    "coffee", "coffee_price_war", "2024-08-01 07:00", "2024-08-31 23:00",
    ("咖啡因依赖症患者", "打工人续命指南", "县城生活家", "咖啡店主阿杰", "加盟商老刘", "甜品控小桃", "上海滩小白领"),
    ("expat_eats", "beanpriceswatch", "chengdu_cafes", "consumer_cn", "shanghai_sam"),
)
COFFEE_POSTS = [
    W(5, "9块9咖啡价格战打了一年多：头部连锁的单店日均杯量上去了，但单杯利润薄到只剩几毛钱。行业人士判断，"
         "价格战的终点比拼的是供应链和门店密度。#咖啡价格战#", key="cf_analysis", author="新消费观察"),
    W(4, "每天一杯9.9，打工人续命神器，希望这价格战永远别停[哈哈]"),
    W(5, "两家连锁又开始互卷，一个9块9，一个8块8，消费者坐收渔翁之利"),
    W(4, "听说9块9的活动要取消了？有人说部分门店已经恢复原价，求证"),
    W(2, "阿拉比卡咖啡豆期货价格创历史新高 #咖啡豆涨价#"),
    W(2, "新开的精品咖啡店，一杯手冲58，埃塞俄比亚的豆子，喝起来确实不一样"),
    W(2, "奶茶也开始卷价格了，一杯柠檬茶只要4块钱"),
    W(3, "便利店咖啡才是隐形王者，6块钱一杯还能攒积分"),
    W(5, "价格战最受伤的是加盟商：9块9的单子，扣掉房租、人工和原料，一杯还亏一块钱。总部补贴一停，小店就撑不下去了。"),
    W(3, "今天的9.9是生椰拿铁，喝完感觉自己又能加班三小时[doge]"),
    W(3, "某咖啡品牌门店数突破两万家，开店速度比奶茶还快"),
    W(1, "咖啡馆里的自习党越来越多了，一杯坐一天"),
    W_COPY("cf_analysis"),
    W(None, "转发微博"),
    W(5, "9块9咖啡价格战的本质：用低价换用户习惯，赌的是以后能慢慢涨价。但消费者的记忆里只剩下'9块9'，涨一块钱都会被骂。"),
    W(4, "县城也开满了咖啡店，都是9.9的那种，县城青年也喝上美式了"),
    W(2, "咖啡喝多了心慌？医生建议每天咖啡因摄入不超过400毫克"),
    W(5, "优惠券规则又变了：9块9只剩每周一张，其余时间恢复13块9，价格战是不是要收场了"),
    W(5, "咖啡价格战进入第二阶段：从'9块9'打到'7块9'，也有品牌开始用联名和新品代替直接降价。"),
    W(2, "自己在家手冲咖啡一个月，算下来一杯成本3块钱"),
    W(4, "9块9喝习惯了，看到原价19块的咖啡觉得是在抢钱，这就是价格战的后遗症吧"),
    W(1, "下午茶吃了一块提拉米苏，幸福感拉满"),
    X(5, "China's coffee price war: chains cut prices to 9.9 yuan (~$1.40) a cup. Volumes are up, margins are paper "
         "thin. https://t.co/Cf9y9Pw4rX", key="cfx", author="retail_cn"),
    X(4, "A latte for 9.9 yuan in Shanghai vs $6.50 in NYC. I'm not moving back 😂"),
    X(2, "Arabica futures just hit a record high. https://t.co/Ar4bCaFut5"),
    X(5, "Franchisees are the real losers of China's 9.9 yuan coffee war — rent + labour eat the whole margin."),
    X_RT("cfx"),
    X(2, "The new milk tea place near my office sells drinks for 4 yuan. Tea is going through its own price war."),
    X(2, "Best specialty coffee in Chengdu? Not looking for chain stuff."),
    X(5, "9块9咖啡 is the most successful habit-building campaign I've seen. The real question is what happens when "
         "they raise prices."),
    X(4, "Coffee chains in China opened more stores last year than some global brands have in the whole country. "
         "The 9.9 yuan price is the growth engine."),
    X(3, "Another coffee chain from China just opened in New York. Prices are not 9.9 yuan there though lol"),
    X(3, "A big US coffee chain's China sales fell again this quarter. https://t.co/Us5bXcNsal"),
    X(4, "@expat_eats the 9.9 deal is coupon-only now at my place, list price is back to 13.9. Price war cooling off?"),
    X(2, "Coffee or tea? Scientists say both are fine in moderation."),
    X(5, "Thread on China's 9.9 yuan coffee price war: who started it, why it spread to small cities, and why "
         "franchisees are paying for it 🧵 https://t.co/Cw9yTh5dXp"),
]

MISC = Topic(
    "misc", None, "2024-01-01 07:00", "2025-04-30 23:00",
    ("加班狗一只", "爬山的阿May", "螺蛳粉十级爱好者", "元气少女", "读书笔记本", "路人甲", "早睡早起的小王"),
    ("dev_danny", "runner_rosa", "morning_max", "london2shanghai", "randomthoughts42"),
)
MISC_POSTS = [
    W(None, "今天加班到十点，地铁上只有我一个人[泪]"),
    W(None, "周末去爬了梧桐山，腿已经不是自己的了"),
    W(None, "有没有好吃的螺蛳粉推荐？越臭越好"),
    W(None, ""),
    W(None, "[哈哈][哈哈][哈哈]"),
    W(None, "分享图片"),
    W(None, "早安，今天也要元气满满！"),
    W(None, "#高考加油# 祝所有考生金榜题名！"),
    W(None, "记录一下：今年给自己定的目标完成了一半。读了12本书，学会了游泳，体重降了5斤；没完成的是考驾照和存钱。"
            "下半年继续加油，不给自己太大压力，慢慢来比较快。…全文"),
    W(None, "转发微博"),
    W(None, "楼下的流浪猫今天又来蹭饭了，给它取名叫'亚运'[喵喵]", g={"asiangames_fireworks": 1}),
    W(None, "手机电量1%的时候总会接到最重要的电话", g={"ev_battery_breakthrough": 1}),
    X(None, "Good morning ☕"),
    X(None, "Why is my code working? I didn't change anything..."),
    X(None, "lol"),
    X(None, "https://t.co/aB3dEf5GhI", lang="und"),
    X(None, "Happy Friday! Weekend plans: absolutely nothing. Perfect."),
    X(None, "Thread: things I learned moving from London to Shanghai 🧵\n1. Everyone pays with their phone\n"
            "2. Delivery is absurdly fast\n3. Nobody drinks hot water by accident, it's on purpose"),
    X(None, "New blog post is up!\\nLink in bio"),
    X(None, "@randomthoughts42 congrats on the new job!!"),
    X(None, "Anyone else's internet down?"),
    X(None, "just finished a 10k run 🏃‍♀️ new PB!"),
]

TOPICS: list[tuple[Topic, list[Post]]] = [
    (ASIAN_GAMES, ASIAN_GAMES_POSTS),
    (EV_BATTERY, EV_BATTERY_POSTS),
    (DRAMA, DRAMA_POSTS),
    (SD_MJ, SD_MJ_POSTS),
    (SHENZHEN, SHENZHEN_POSTS),
    (TYPHOON, TYPHOON_POSTS),
    (COFFEE, COFFEE_POSTS),
    (MISC, MISC_POSTS),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: sample_data/)")
    args = parser.parse_args(argv)
    counts = write_all(build(TOPICS), args.out)
    print(f"wrote {counts['weibo']} Weibo posts, {counts['x']} X posts, {counts['qrels']} judgements "
          f"for {len(QUERIES)} queries into {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
