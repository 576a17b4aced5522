"""Speed of ``core.ingest.read_posts`` on 10k-row exports (issue 2: "under ~2 s").

For each file it prints the best of 3 wall times of ``read_posts`` and of a
baseline measured in the same run, ``pandas.read_csv(dtype=str)`` on the same
bytes (a reader that does none of Sieve's work: no encoding order, no header
search, no cleaning, no duplicates), and their ratio.

Files: the two CrisisLex T6 exports of ``../shared/real_data`` (~10k tweets
each) and a synthetic 10k-row Weibo-crawler CSV written here (Chinese headers,
``//@`` reposts, topics, emoticons, counts like ``1.2万``). Exits 0 with a
message when the real data folder is absent (the synthetic file still runs).

Usage: ``.venv/bin/python bench/ingest_speed.py``
"""

from __future__ import annotations

import csv
import io
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd

from core.ingest import read_posts

REAL = Path(__file__).resolve().parent.parent.parent / "shared" / "real_data"


def synthetic_weibo(n: int = 10_000, seed: int = 0) -> bytes:
    """A Weibo-crawler-style CSV of ``n`` synthetic posts (UTF-8 with BOM)."""
    rng = random.Random(seed)
    topics = ["杭州亚运会闭幕式", "固态电池", "追剧", "AI绘画"]
    phrases = ["烟花太美了", "续航终于不焦虑", "这剧太上头了停不下来", "Stable Diffusion 出图更可控",
               "吉祥物好可爱", "电池回收新规出台", "演员阵容太强", "Midjourney v6 real photo style"]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["id", "bid", "user_id", "用户昵称", "微博正文", "转发数", "评论数", "点赞数", "发布时间"])
    for i in range(n):
        text = f"#{rng.choice(topics)}#{rng.choice(phrases)}，{rng.choice(phrases)}[哈哈]"
        if rng.random() < 0.3:
            text += f"//@用户{rng.randint(1, 500)}:{rng.choice(phrases)}"
        if rng.random() < 0.1:
            text += " http://t.cn/A6" + "".join(rng.choices("abcdefXYZ0123", k=5))
        writer.writerow([str(4_900_000_000_000_000 + i), f"M{i:07d}", str(rng.randint(1, 10**9)), f"用户{i % 700}",
                         text, rng.choice(["0", "12", "1,234", "1.2万", "转发"]), str(rng.randint(0, 99)),
                         rng.choice(["3", "45", "2.3万", "赞"]), f"2023-10-{rng.randint(1, 28):02d} 12:{i % 60:02d}"])
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    files: list[tuple[str, bytes]] = [("synthetic weibo 10k", synthetic_weibo())]
    if REAL.is_dir():
        for path in sorted((REAL / "crisislex_t6").glob("*.csv")):
            files.append((path.name, path.read_bytes()))
    else:
        print(f"real data folder {REAL} is absent: timing the synthetic file only")
    read_posts(files[0][1], filename="warmup.csv")  # imports, jieba-free warm-up
    print(f"{'file':<44} {'rows':>6} {'read_posts s':>12} {'pandas s':>9} {'ratio':>6}")
    for name, data in files:
        n = read_posts(data, filename=name + ".csv").report.n_posts
        ours = best_of(lambda data=data, name=name: read_posts(data, filename=name + ".csv"))
        base = best_of(lambda data=data: pd.read_csv(io.BytesIO(data), dtype=str, skipinitialspace=True))
        print(f"{name:<44} {n:>6} {ours:>12.3f} {base:>9.3f} {ours / base:>6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
