"""Which source column plays which role: the alias table and its matching rules.

Column names are compared after :func:`normalise_name` (BOMs and surrounding
whitespace removed, lower case, ``_``/``-``/runs of spaces made one space), so
``" Tweet Text"``, ``"tweet_text"`` and ``"\\ufeffTweet Text"`` are the same name.
Dotted names (twarc-csv, flattened JSON) keep their dots and must match whole.

The text of a post can come from more than one column:

* ``join``: non-empty, non-placeholder cells joined by a blank line
  (Reddit submissions: ``title`` + ``selftext``);
* ``fallback``: used, in order, when the joined cells are empty
  (CrowdTangle: ``Message``, else ``Description``, else ``Image Text``;
  Reddit comments: ``body``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.errors import ColumnError
from core.schema import ROLES

_SEP_RE = re.compile(r"[\s_\-]+")

#: How to choose a column, in both front ends (appended to column errors).
CHOOSE_TEXT_HINT = ("Choose the text column (dashboard: Data page > Column mapping; command line: "
                    "--column text=NAME).")


class ColumnChoiceError(ColumnError):
    """No column can serve a role, or a chosen column does not exist.

    Carries the file's column names so that a front end can offer them.

    Attributes:
        columns: the file's source column names as read (``list[str]``).
        role: the role at fault (``"text"``, ``"id"``, ...), or None.
    """

    def __init__(self, message: str, *, hint: str | None = None, columns: list[str] | None = None,
                 role: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.columns = list(columns or [])
        self.role = role


def normalise_name(name: object) -> str:
    """A column name as compared with the alias table.

    Example:
        >>> normalise_name("\\ufeff Tweet_Text ")
        'tweet text'
    """
    text = str(name).replace("\ufeff", "").replace("\u200b", "").strip().strip('"').strip()
    return _SEP_RE.sub(" ", text.lower()).strip()


#: Text sources in priority order: (layout, join columns, fallback columns).
#: The first rule whose join columns are all present (after normalisation) wins.
TEXT_RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("reddit", ("title", "selftext"), ("body",)),
    ("crowdtangle", ("message",), ("description", "image text")),
    ("meltwater", ("hit sentence",), ("opening text",)),
    ("x-api", ("note tweet.text",), ("text",)),
    ("x-api", ("full text",), ("text",)),
    ("snscrape", ("rawcontent",), ("content", "renderedcontent")),
    ("weibo", ("微博正文",), ()),
    ("weibo", ("正文",), ()),
    ("weibo", ("微博内容",), ()),
    ("weibo", ("博文内容",), ()),
    ("generic", ("tweet text",), ()),
    ("twint", ("tweet",), ()),
    ("snscrape", ("content",), ()),
    ("generic", ("text",), ()),
    ("reddit", ("body",), ()),
    ("generic", ("内容",), ()),
    ("generic", ("文本",), ()),
    ("generic", ("post text",), ()),
    ("generic", ("message",), ()),
    ("generic", ("post",), ()),
    ("generic", ("status",), ()),
    ("generic", ("caption",), ()),
    ("generic", ("comment",), ()),
    ("generic", ("评论内容",), ()),
    ("generic", ("sentence",), ()),
)

#: Aliases of the other roles, in priority order (normalised names).
ROLE_ALIASES: dict[str, tuple[str, ...]] = {
    "id": (
        "id str", "tweet id", "tweet id str", "微博id", "mid", "post id", "status id", "weibo id",
        "message id", "id", "bid", "twitter id", "document id",
    ),
    "time": (
        "完整日期", "发布时间", "created at", "tweet created at", "post created", "date", "datetime",
        "timestamp", "created utc", "created", "time", "日期", "时间", "published", "published at",
        "publish time", "posted", "alternate date format",
    ),
    "author": (
        "author.username", "user.screen name", "username", "screen name", "用户昵称", "昵称", "用户名",
        "发布者", "博主昵称", "user name", "page name", "author", "influencer", "twitter screen name",
        "user.username", "author name", "user", "from user", "account", "handle",
    ),
    "likes": (
        "点赞数", "public metrics.like count", "favorite count", "like count", "likes count", "likecount",
        "favourites count", "likes", "点赞", "赞", "attitudes count", "ups", "favorites",
    ),
    "reposts": (
        "转发数", "public metrics.retweet count", "retweet count", "retweets count", "retweetcount",
        "reposts count", "retweets", "reposts", "shares", "转发", "share count",
    ),
    "comments": (
        "评论数", "public metrics.reply count", "reply count", "replies count", "replycount",
        "comments count", "num comments", "comments", "replies", "评论", "comment count",
    ),
    "lang": ("lang", "language", "语言", "tweet language"),
    "url": (
        "url", "permalink", "post url", "tweet url", "link", "微博链接", "帖子链接", "weibo url",
        "status url", "twitter url",
    ),
}

#: Every normalised name the table knows (used to find the header row).
KNOWN_NAMES: frozenset[str] = frozenset(
    {c for _, join, fb in TEXT_RULES for c in (*join, *fb)}
    | {a for aliases in ROLE_ALIASES.values() for a in aliases}
)

def _guess_layout(index: dict[str, str], layout: str) -> str:
    """Refine the layout named by the text rule with tell-tale column names."""
    if any(name.startswith("twarc.") for name in index):  # "__twarc.url", "__twarc.version"
        return "twarc-csv"
    if layout not in ("generic", "twint", "x-api"):
        return layout
    if "informativeness" in index or ("tweet id" in index and "tweet" in index and "label" in index):
        return "crisislex"
    if "stance" in index and "target" in index:
        return "nlpcc"
    if "微博id" in index or "完整日期" in index:
        return "weibo"
    if layout == "generic" and "author.username" in index and "public metrics.like count" in index:
        return "x-api"
    return layout


@dataclass
class TextSpec:
    """Where the text of a post comes from.

    Attributes:
        join: source columns joined (non-empty, non-placeholder cells, blank
            line between) to make the text.
        fallback: source columns tried in order when the joined text is empty.
    """

    join: list[str]
    fallback: list[str] = field(default_factory=list)

    @property
    def primary(self) -> str:
        """The first source column, shown as the text column."""
        return self.join[0]

    def describe(self) -> str:
        """A one-line description, e.g. ``"title + selftext, else body"``."""
        text = " + ".join(self.join)
        return text + (", else " + ", else ".join(self.fallback) if self.fallback else "")


@dataclass
class ColumnMap:
    """The detected (or analyst-chosen) source column of each role.

    Attributes:
        text: the :class:`TextSpec`.
        roles: ``{role: source column name or None}`` for every role of
            ``core.schema.ROLES`` except ``text``.
        layout: the export layout guessed from the names (``"weibo"``,
            ``"twint"``, ``"twarc-csv"``, ``"crowdtangle"``, ... or ``"generic"``).
        guessed_text: True when no known text column was found and the text
            column was chosen as the longest free-text column.
    """

    text: TextSpec
    roles: dict[str, str | None]
    layout: str = "generic"
    guessed_text: bool = False

    def as_report(self) -> dict[str, str | None]:
        """``{role: source column}`` for the report, text first (its primary column)."""
        return {"text": self.text.primary, **self.roles}


def _index(header: list[str]) -> dict[str, str]:
    """normalised name -> first source column with that name."""
    out: dict[str, str] = {}
    for name in header:
        out.setdefault(normalise_name(name), name)
    return out


def count_known(cells: list[str]) -> int:
    """How many of ``cells`` are known column names (to find the header row)."""
    return sum(1 for c in cells if normalise_name(c) in KNOWN_NAMES)


def _guess_text_column(header: list[str], rows: list[list[str]]) -> str | None:
    """The column with the longest free text (mostly non-numeric, mean >= 15 chars)."""
    best, best_len = None, 0.0
    sample = rows[:500]
    for j, name in enumerate(header):
        values = [r[j] for r in sample if j < len(r) and r[j].strip()]
        if not values:
            continue
        numeric = sum(1 for v in values if re.fullmatch(r"[\s\d.,:+\-/eE]+", v))
        if numeric > 0.5 * len(values):
            continue
        mean_len = sum(len(v) for v in values) / len(values)
        spaced = sum(1 for v in values if " " in v.strip() or re.search(r"[\u4e00-\u9fff]{4}", v))
        if mean_len >= 15 and spaced >= 0.5 * len(values) and mean_len > best_len:
            best, best_len = name, mean_len
    return best


def map_columns(
    header: list[str],
    rows: list[list[str]],
    *,
    name: str,
    override: dict[str, str | list[str] | None] | None = None,
) -> ColumnMap:
    """Detect the role of each source column, applying the analyst's choices first.

    Args:
        header: the source column names as read (stripped).
        rows: the data records (lists of cells), used only to guess a text
            column when no known name is present.
        name: the file name, for messages.
        override: ``{role: column}`` chosen by the analyst; the text role may
            name a list of columns to join (or ``"a + b"``); ``None`` unmaps a role.

    Returns:
        A :class:`ColumnMap`.

    Raises:
        ColumnError: when an overridden role is unknown.
        ColumnChoiceError: (a ``ColumnError``, with ``.columns`` = ``header``)
            when a chosen column does not exist or no column can serve as the text.
    """
    index = _index(header)
    listing = ", ".join(repr(h) for h in header[:40]) + (" ..." if len(header) > 40 else "")
    override = dict(override or {})
    for role in override:
        if role not in ROLES:
            raise ColumnError(
                f"{name}: {role!r} is not a column role. Use one of {', '.join(ROLES)}."
            )

    def resolve(col: str, role: str) -> str:
        if col in header:
            return col
        hit = index.get(normalise_name(col))
        if hit is None:
            raise ColumnChoiceError(
                f"{name} has no column {col!r} (chosen for {role!r}). Its columns are: {listing}.",
                hint=f"Choose one of them (dashboard: Data page > Column mapping; command line: "
                f"--column {role}=NAME).",
                columns=header, role=role,
            )
        return hit

    layout = "generic"
    guessed = False
    if override.get("text"):
        chosen = override["text"]
        cols = [chosen] if isinstance(chosen, str) else list(chosen)
        if isinstance(chosen, str) and "+" in chosen and normalise_name(chosen) not in index:
            cols = [part.strip() for part in chosen.split("+") if part.strip()]  # "title + selftext"
        text = TextSpec([resolve(c, "text") for c in cols])
    else:
        text = None
        for rule_layout, join, fallback in TEXT_RULES:
            if all(c in index for c in join):
                text = TextSpec([index[c] for c in join], [index[c] for c in fallback if c in index])
                layout = rule_layout
                break
        if text is None:
            guess = _guess_text_column(header, rows)
            if guess is None:
                raise ColumnChoiceError(
                    f"{name} has no usable text column: none of its columns ({listing}) is a known "
                    "post-text column (such as text, full_text, tweet, content, 正文, 微博正文, Message, "
                    "Hit Sentence, body), and none holds free text.",
                    hint=CHOOSE_TEXT_HINT, columns=header, role="text",
                )
            text = TextSpec([guess])
            guessed = True
    used = set(text.join) | set(text.fallback)
    roles: dict[str, str | None] = {}
    for role in ROLES:
        if role == "text":
            continue
        if role in override:
            roles[role] = resolve(override[role], role) if override[role] else None
            continue
        roles[role] = None
        for alias in ROLE_ALIASES[role]:
            col = index.get(alias)
            if col is not None and col not in used and col not in roles.values():
                roles[role] = col
                break
    layout = _guess_layout(index, layout)
    return ColumnMap(text=text, roles=roles, layout=layout, guessed_text=guessed)
