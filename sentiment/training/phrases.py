"""Short reviews made from a small grammar (``--augment phrases``): a clause says something about one
aspect of a film or a hotel, negated, doubly negated, intensified or softened, and two clauses of
opposite sentiment are joined by a contrast word. Every label follows from the grammar, so the
reviews teach what a word like "not", "hardly", "but" or 但是 does to the words around it, and
nothing about any particular review.

Written by GateScope's developers for this purpose; the held-aside half of the minimal-pair sets
(``assets/pairs``) was written separately and never read while writing these lists.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

Clause = tuple[str, int]  # (text, label) with label 1 = positive

# ---- English: film reviews -----------------------------------------------------------------------

EN_ASPECTS = (  # (phrase, plural)
    ("the acting", False), ("the plot", False), ("the story", False), ("the script", False), ("the music", False),
    ("the soundtrack", False), ("the ending", False), ("the dialogue", False), ("the cast", False),
    ("the direction", False), ("the pacing", False), ("the cinematography", False), ("the humour", False),
    ("the final act", False), ("the lead actress", False), ("the lead actor", False), ("the villain", False),
    ("the camera work", False), ("the editing", False), ("the screenplay", False), ("the score", False),
    ("this movie", False), ("the film", False), ("this film", False), ("the movie", False), ("the sequel", False),
    ("the characters", True), ("the performances", True), ("the special effects", True), ("the jokes", True),
    ("the action scenes", True), ("the songs", True), ("the twists", True), ("the costumes", True),
)
EN_UN = ("uninteresting", "unwatchable", "unconvincing", "unoriginal", "unfunny", "unimpressive", "uninspired",
         "unpleasant", "unlikeable", "unremarkable", "unexciting", "unbelievable", "unnecessary", "unearned")
EN_POSITIVE = ("good", "great", "funny", "moving", "convincing", "brilliant", "enjoyable", "clever", "beautiful",
               "gripping", "excellent", "charming", "exciting", "entertaining", "wonderful", "impressive",
               "memorable", "touching", "original", "fun", "solid", "strong", "well done", "worth watching",
               "superb", "likeable", "smart", "fresh", "delightful", "believable")
EN_NEGATIVE = ("bad", "boring", "awful", "dull", "terrible", "weak", "predictable", "silly", "painful", "poor",
               "forgettable", "annoying", "clumsy", "flat", "horrible", "stupid", "tedious", "lame",
               "disappointing", "bland", "pointless", "a mess", "a waste of time", "cheap", "unbearable",
               "awkward", "confusing", "lazy", "wooden", "messy") + EN_UN
EN_SOFTENERS = ("not very", "not really", "not particularly", "not all that", "not so", "not exactly", "not quite")
EN_FLIPPERS = ("hardly", "far from", "never", "anything but", "rarely", "barely", "by no means", "in no way")
EN_VERBS = (  # (past, base, label): what an aspect did
    ("held my attention", "hold my attention", 1), ("made me laugh", "make me laugh", 1), ("worked", "work", 1),
    ("impressed me", "impress me", 1), ("surprised me", "surprise me", 1), ("moved me", "move me", 1),
    ("won me over", "win me over", 1), ("made sense", "make sense", 1), ("kept me guessing", "keep me guessing", 1),
    ("got boring", "get boring", 0), ("dragged", "drag", 0), ("fell flat", "fall flat", 0), ("bored me", "bore me", 0),
    ("annoyed me", "annoy me", 0), ("felt cheap", "feel cheap", 0), ("lost me", "lose me", 0),
    ("fell apart", "fall apart", 0), ("wore thin", "wear thin", 0), ("put me to sleep", "put me to sleep", 0),
)
EN_INTENSIFIERS = ("really", "very", "truly", "incredibly", "so", "extremely", "absolutely", "quite")
EN_LIKE = ("loved", "liked", "enjoyed", "adored", "admired")
EN_DISLIKE = ("hated", "disliked", "could not stand", "regretted watching")
EN_FILLERS = ("I saw it last weekend.", "I watched it with my family.", "It runs about two hours.",
              "It is based on a novel.", "We went to the late show.", "I rented it on a whim.",
              "My friend recommended it.", "It came out last year.")
EN_CONTRAST_AFTER = ("{a}, but {b}", "Although {a}, {b}", "{a}. However, {b}", "{a}, yet {b}",
                     "While {a}, {b}", "{a}. Still, {b}")
EN_CONTRAST_BEFORE = ("{b}, though {a}", "{b}, even if {a}", "{b}, although {a}")


def _be(plural: bool, past: bool) -> str:
    return ("were" if plural else "was") if past else ("are" if plural else "is")


@dataclass(frozen=True)
class _EnSlots:
    """The words an English adjective clause is built from, drawn before its form is."""

    aspect: str
    plural: bool
    label: int  # the sentiment of ``word`` itself
    word: str
    be: str

    @property
    def one_word(self) -> bool:
        return " " not in self.word


def _en_slots(rng: random.Random) -> _EnSlots:
    aspect, plural = rng.choice(EN_ASPECTS)
    label = rng.randrange(2)
    word = rng.choice(EN_POSITIVE if label else EN_NEGATIVE)
    return _EnSlots(aspect, plural, label, word, _be(plural, rng.random() < 0.5))


# Each form builds one kind of clause from the slots, drawing any further words it needs from the
# rng, or gives None where it does not fit the slots (then the plain clause is used). The forms
# draw in a fixed order, so a seed always yields the same reviews: keep every rng call as it is.


def _en_plain(s: _EnSlots) -> Clause:
    """E.g. "the plot was good"."""
    return f"{s.aspect} {s.be} {s.word}", s.label


def _en_not(rng: random.Random, s: _EnSlots) -> Clause:
    """E.g. "the plot was not good"."""
    return f"{s.aspect} {s.be} not {s.word}", 1 - s.label


def _en_not_at_all(rng: random.Random, s: _EnSlots) -> Clause:
    """E.g. "the plot wasn't good at all"."""
    return f"{s.aspect} {s.be}n't {s.word} at all", 1 - s.label


def _en_flipped(rng: random.Random, s: _EnSlots) -> Clause:
    """E.g. "the plot was far from good"."""
    return f"{s.aspect} {s.be} {rng.choice(EN_FLIPPERS)} {s.word}", 1 - s.label


def _en_intensified(rng: random.Random, s: _EnSlots) -> Clause | None:
    """E.g. "the plot was really good" (one-word adjectives only)."""
    if not s.one_word:
        return None
    return f"{s.aspect} {s.be} {rng.choice(EN_INTENSIFIERS)} {s.word}", s.label


def _en_softened(rng: random.Random, s: _EnSlots) -> Clause | None:
    """E.g. "the plot was not very good": negative (positive one-word adjectives only)."""
    if not (s.label and s.one_word):
        return None
    return f"{s.aspect} {s.be} {rng.choice(EN_SOFTENERS)} {s.word}", 0


def _en_double_negation(rng: random.Random, s: _EnSlots) -> Clause:
    """E.g. "I can't say the plot was not good": the word's own sentiment."""
    who = rng.choice(("I can't say", "I wouldn't say", "Nobody could say", "No one would say"))
    return f"{who} {s.aspect} {s.be} not {s.word}", s.label


def _en_nothing_about(rng: random.Random, s: _EnSlots) -> Clause:
    """E.g. "nothing about the plot felt good"."""
    return f"{rng.choice(('nothing', 'not a thing'))} about {s.aspect} {rng.choice(('felt', 'seemed', 'was'))} {s.word}", 1 - s.label


def _en_everything_about(rng: random.Random, s: _EnSlots) -> Clause:
    """E.g. "everything about the plot felt good"."""
    return f"everything about {s.aspect} {rng.choice(('felt', 'seemed', 'was'))} {s.word}", s.label


def _en_denied(rng: random.Random, s: _EnSlots) -> Clause:
    """E.g. "I can't say the plot was good"."""
    who = rng.choice(("I can't say", "I wouldn't say", "I can't pretend that", "nobody would say"))
    return f"{who} {s.aspect} {s.be} {s.word}", 1 - s.label


def _en_never_found(rng: random.Random, s: _EnSlots) -> Clause:
    """E.g. "I never found the plot good"."""
    return f"I never found {s.aspect} {s.word}", 1 - s.label


def _en_found(rng: random.Random, s: _EnSlots) -> Clause:
    """E.g. "I found the plot good"."""
    return f"I found {s.aspect} {s.word}", s.label


def _en_none_of(rng: random.Random, s: _EnSlots) -> Clause | None:
    """E.g. "none of the jokes were good" (plural aspects only)."""
    if not s.plural:
        return None
    return f"{rng.choice(('none', 'not one'))} of {s.aspect} {'were' if s.be == 'were' else 'was'} {s.word}", 1 - s.label


def _en_not_like(rng: random.Random, s: _EnSlots) -> Clause:
    """E.g. "it's not like the plot was ever good"."""
    return f"it's not like {s.aspect} {'were' if s.plural else 'was'} ever {s.word}", 1 - s.label


def _en_whole_film(rng: random.Random, s: _EnSlots) -> Clause:
    """An opinion of the whole film instead of the aspect."""
    return en_opinion(rng)


_EN_FORMS: dict[int, Callable[[random.Random, _EnSlots], Clause | None]] = {
    1: _en_not, 2: _en_not_at_all, 3: _en_flipped, 4: _en_intensified, 5: _en_softened, 6: _en_double_negation,
    7: _en_nothing_about, 8: _en_everything_about, 9: _en_denied, 10: _en_never_found, 11: _en_found,
    12: _en_none_of, 13: _en_not_like, 14: _en_whole_film,
}  # form 0 (and any form that does not fit): the plain clause
_EN_FORM_COUNT = 15


def en_clause(rng: random.Random) -> Clause:
    """One English clause about one aspect: (text without a final full stop, label)."""
    if rng.random() < 0.3:
        return en_verb_clause(rng)
    slots = _en_slots(rng)
    build = _EN_FORMS.get(rng.randrange(_EN_FORM_COUNT))
    clause = build(rng, slots) if build else None
    return _en_plain(slots) if clause is None else clause


def en_verb_clause(rng: random.Random) -> Clause:
    """A clause about what an aspect did: "the plot fell apart", "the jokes never fell flat"."""
    aspect, _ = rng.choice(EN_ASPECTS)
    past, base, label = rng.choice(EN_VERBS)
    form = rng.randrange(7)
    if form == 1:
        return f"{aspect} never {rng.choice(('once ', ''))}{'managed to ' if label else ''}{base}", 1 - label
    if form == 2:
        return f"{aspect} didn't {base}", 1 - label
    if form == 3:
        return f"not once did {aspect} {base}", 1 - label
    if form == 4:
        return f"{aspect} {rng.choice(('rarely', 'seldom', 'hardly ever'))} {'managed to ' if label else ''}{base}", 1 - label
    if form == 5 and label:
        return f"{aspect} {rng.choice(('never', 'did not once'))} failed to {base}", 1
    if form == 6 and label:
        return f"{aspect} failed to {base}", 0
    return f"{aspect} {past}", label


def en_opinion(rng: random.Random) -> Clause:
    """What the writer (or others) thought of the whole film."""
    label = rng.randrange(2)
    verb = rng.choice(EN_LIKE if label else EN_DISLIKE)
    base = rng.choice(("like", "enjoy", "love") if label else ("hate", "dislike", "mind"))
    form = rng.randrange(7)
    if form == 1:
        return f"I didn't {base} it", 1 - label
    if form == 2:
        return f"I can't say I {verb} it", 1 - label
    if form == 3:
        return f"{rng.choice(('critics', 'my friends', 'everyone else', 'my sister'))} {verb} it", label
    if form == 4:
        return rng.choice((("I enjoyed every minute of it", 1), ("I did not enjoy a minute of it", 0),
                           ("it could hardly have been better", 1), ("it could not have been worse", 0),
                           ("it could not have been better", 1), ("it could hardly have been worse", 0),
                           ("there wasn't a single scene I enjoyed", 0), ("there wasn't a single scene I disliked", 1),
                           ("I couldn't help but smile", 1), ("it is impossible to care about anyone in it", 0)))
    if form == 5:
        return rng.choice((("I would recommend it", 1), ("I would not recommend it", 0), ("don't miss it", 1),
                           ("don't waste your time on it", 0), ("I'd watch it again", 1),
                           ("I won't watch it again", 0), ("it was worth every minute", 1),
                           ("it was not worth the ticket", 0), ("it was not a waste of time", 1)))
    return f"I {verb} it", label


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + "."


def en_review(rng: random.Random) -> Clause:
    """A short English review: one clause, or two of opposite sentiment joined by a contrast word."""
    a = en_clause(rng)
    if rng.random() < 0.45:
        text, label = _sentence(a[0]), a[1]
    else:
        b = en_clause(rng)
        while b[1] == a[1]:
            b = en_clause(rng)
        if rng.random() < 0.7:  # the clause after the contrast word decides
            text, label = _sentence(rng.choice(EN_CONTRAST_AFTER).format(a=a[0], b=b[0])), b[1]
        else:  # "B, though A": the main clause decides
            text, label = _sentence(rng.choice(EN_CONTRAST_BEFORE).format(a=a[0], b=b[0])), b[1]
    if rng.random() < 0.2:
        text = f"{rng.choice(EN_FILLERS)} {text}"
    return text, label


# ---- Chinese: hotel reviews ----------------------------------------------------------------------

ZH_ASPECTS = (  # (aspect, words that praise it, words that blame it)
    ("房间", ("干净", "宽敞", "舒服", "整洁", "安静", "明亮"), ("脏", "小", "旧", "吵", "乱", "潮湿")),
    ("服务", ("好", "周到", "热情", "贴心", "到位"), ("差", "冷淡", "慢", "糟糕", "敷衍")),
    ("早餐", ("丰富", "好吃", "不错", "可口"), ("难吃", "单调", "差", "简单")),
    ("位置", ("好", "便利", "优越", "方便"), ("偏", "偏僻", "差")),
    ("环境", ("好", "安静", "优美", "舒适"), ("差", "吵", "嘈杂", "脏")),
    ("前台", ("热情", "礼貌", "耐心", "专业"), ("冷淡", "粗鲁", "傲慢", "马虎")),
    ("服务员", ("热情", "礼貌", "耐心", "勤快"), ("冷淡", "粗鲁", "懒散", "傲慢")),
    ("床", ("舒服", "干净", "软", "大"), ("硬", "脏", "小", "窄")),
    ("卫生间", ("干净", "宽敞", "整洁"), ("脏", "小", "臭", "潮湿")),
    ("价格", ("实惠", "便宜", "合理", "公道"), ("贵", "离谱", "高")),
    ("隔音", ("好", "不错"), ("差", "糟糕")),
    ("设施", ("新", "齐全", "完善", "先进"), ("旧", "陈旧", "简陋", "老化")),
    ("交通", ("便利", "方便", "便捷"), ("拥堵", "麻烦")),
    ("酒店", ("不错", "好", "舒适", "干净"), ("差", "糟糕", "一般", "破旧")),
    ("网络", ("快", "稳定", "流畅"), ("慢", "差", "卡")),
    ("装修", ("新", "漂亮", "精致", "大气"), ("旧", "老", "简陋", "俗气")),
    ("热水", ("充足", "稳定", "方便"), ("少", "不稳定", "小")),
    ("空调", ("好用", "凉快", "安静"), ("吵", "坏", "差")),
)
ZH_NEGATORS = ("不", "不", "不", "并不", "一点也不", "一点都不", "根本不", "完全不")
ZH_COMPLAINTS = ("异味", "噪音", "蟑螂", "灰尘", "霉味", "蚊子", "烟味")
ZH_FEELINGS = (("满意", 1), ("惊喜", 1), ("舒心", 1), ("失望", 0), ("不满", 0), ("头疼", 0), ("后悔", 0))
ZH_INTENSIFIERS = ("很", "非常", "特别", "十分", "相当", "超级", "真", "挺")
ZH_ENDINGS_POSITIVE = ("下次还会再来。", "推荐入住。", "值得推荐。", "总体很满意。", "性价比很高。", "会推荐给朋友。")
ZH_ENDINGS_NEGATIVE = ("不会再来了。", "不推荐。", "不值得推荐。", "总体很失望。", "性价比太低。", "再也不会住了。")
ZH_CONTRAST = ("{a}，但是{b}", "虽然{a}，但是{b}", "{a}，不过{b}", "{a}，可是{b}", "尽管{a}，可{b}", "{a}，然而{b}")


@dataclass(frozen=True)
class _ZhSlots:
    """The words a Chinese clause is built from, drawn before its form is."""

    aspect: str
    praise: tuple[str, ...]
    blame: tuple[str, ...]
    label: int  # the sentiment of ``word`` itself
    word: str

    @property
    def plain(self) -> bool:
        """False for words that already carry a negation (不稳定), which cannot take another."""
        return not self.word.startswith("不")


def _zh_slots(rng: random.Random, aspects: tuple = ZH_ASPECTS) -> _ZhSlots:
    aspect, praise, blame = rng.choice(aspects)
    label = rng.randrange(2)
    word = rng.choice(praise if label else blame)
    return _ZhSlots(aspect, praise, blame, label, word)


# As for English: each form draws what it needs in a fixed order, or gives None where it does not
# fit the slots (then the default clause is drawn). Keep every rng call as it is.


def _zh_default(rng: random.Random, s: _ZhSlots) -> Clause:
    """E.g. "房间很干净" or "房间干净"."""
    return f"{s.aspect}{rng.choice(ZH_INTENSIFIERS + ('', ''))}{s.word}", s.label


def _zh_too(rng: random.Random, s: _ZhSlots) -> Clause:
    """E.g. "房间太干净了"."""
    return f"{s.aspect}太{s.word}了", s.label


def _zh_negated(rng: random.Random, s: _ZhSlots) -> Clause | None:
    """E.g. "房间不干净"."""
    if not s.plain:
        return None
    return f"{s.aspect}{rng.choice(ZH_NEGATORS)}{s.word}", 1 - s.label


def _zh_softened(rng: random.Random, s: _ZhSlots) -> Clause | None:
    """E.g. "房间不太干净": negative (praising words only)."""
    if not (s.label and s.plain):
        return None
    return f"{s.aspect}{rng.choice(('不太', '不是很', '不怎么', '不够', '不算', '不算太', '算不上'))}{s.word}", 0


def _zh_less_than_expected(rng: random.Random, s: _ZhSlots) -> Clause:
    """E.g. "房间没有想象中那么干净"."""
    return f"{s.aspect}没有想象中那么{s.word}", 1 - s.label


def _zh_double_negation(rng: random.Random, s: _ZhSlots) -> Clause | None:
    """E.g. "不能说房间不干净": the word's own sentiment."""
    if not s.plain:
        return None
    who = rng.choice(("不能说", "不是说", "谁也不能说", "我不觉得", "我不会说"))
    return f"{who}{s.aspect}不{s.word}", s.label


def _zh_a_bit(rng: random.Random, s: _ZhSlots) -> Clause | None:
    """E.g. "房间有点脏" (blaming words only)."""
    if s.label:
        return None
    return f"{s.aspect}有点{s.word}", 0


def _zh_feeling(rng: random.Random, s: _ZhSlots) -> Clause:
    """E.g. "房间让人很满意" or "房间没有让我满意"."""
    feeling, good = rng.choice(ZH_FEELINGS)
    if rng.random() < 0.5:
        return f"{s.aspect}让人很{feeling}", good
    return f"{s.aspect}没有让我{feeling}", 1 - good


def _zh_not_un(rng: random.Random, s: _ZhSlots) -> Clause | None:
    """E.g. "房间不是不干净": the word's own sentiment."""
    if not s.plain:
        return None
    return f"{s.aspect}{rng.choice(('不是不', '没有不', '从来没有不'))}{s.word}{rng.choice(('', '过'))}", s.label


def _zh_hard_to_say(rng: random.Random, s: _ZhSlots) -> Clause:
    """E.g. "很难说房间干净"."""
    return f"{rng.choice(('不能说', '很难说', '没有人会觉得'))}{s.aspect}{s.word}", 1 - s.label


def _zh_no_spot(rng: random.Random, s: _ZhSlots) -> Clause | None:
    """E.g. "找不到一点干净的地方", or "没有一处不干净的地方" (the word's own sentiment)."""
    if not s.plain:
        return None
    negated = rng.random() < 0.5
    return f"{rng.choice(('找不到一点', '没有一处', '没有哪里'))}{'不' if negated else ''}{s.word}的地方", s.label if negated else 1 - s.label


def _zh_extremely(rng: random.Random, s: _ZhSlots) -> Clause:
    """E.g. "房间干净极了"."""
    return f"{s.aspect}{s.word}{rng.choice(('极了', '得不得了', '得很'))}", s.label


def _zh_complaint(rng: random.Random, s: _ZhSlots) -> Clause:
    """E.g. "房间有异味" (negative) or "房间没有异味" (positive)."""
    thing = rng.choice(ZH_COMPLAINTS)
    return (f"{s.aspect}有{thing}", 0) if rng.random() < 0.5 else (f"{s.aspect}{rng.choice(('没有', '没', '一点也没有'))}{thing}", 1)


def _zh_nothing_to_feel(rng: random.Random, s: _ZhSlots) -> Clause:
    """E.g. "没有什么让人满意的地方"."""
    feeling, good = rng.choice(ZH_FEELINGS)
    return f"没有什么让人{feeling}的地方", 1 - good


def _zh_recommendation(rng: random.Random, s: _ZhSlots) -> Clause:
    """A verdict on the whole hotel: "值得推荐"."""
    return rng.choice((("值得推荐", 1), ("不值得推荐", 0), ("下次还会再来", 1), ("不会再来了", 0),
                       ("推荐入住", 1), ("不推荐入住", 0), ("每次来都很满意", 1), ("每次来都不满意", 0)))


def _zh_intensified(rng: random.Random, s: _ZhSlots) -> Clause:
    """E.g. "房间非常干净"."""
    return f"{s.aspect}{rng.choice(ZH_INTENSIFIERS)}{s.word}", s.label


def _zh_fairly(rng: random.Random, s: _ZhSlots) -> Clause | None:
    """E.g. "房间还算干净" (praising words only)."""
    if not s.label:
        return None
    return f"{s.aspect}{rng.choice(('还算', '还挺', '倒是挺', '也算'))}{s.word}", 1


def _zh_both(rng: random.Random, s: _ZhSlots) -> Clause:
    """E.g. "房间又干净又宽敞"."""
    other = rng.choice([w for w in (s.praise if s.label else s.blame) if w != s.word] or [s.word])
    return f"{s.aspect}又{s.word}又{other}", s.label


def _zh_unbearably(rng: random.Random, s: _ZhSlots) -> Clause | None:
    """E.g. "房间脏得要命" (blaming words only)."""
    if s.label:
        return None
    return f"{s.aspect}{s.word}得{rng.choice(('让人头疼', '要命', '离谱', '可怜', '受不了'))}", 0


def _zh_overall(rng: random.Random, s: _ZhSlots) -> Clause:
    """A verdict on everything else: "总体来说还行"."""
    return rng.choice((("总体来说还行", 1), ("其他方面都还可以", 1), ("整体还不错", 1), ("别的都挺好", 1),
                       ("整体很一般", 0), ("别的都很差", 0), ("总体来说很糟", 0), ("其他方面都不行", 0)))


_ZH_FORMS: dict[int, Callable[[random.Random, _ZhSlots], Clause | None]] = {
    1: _zh_too, 2: _zh_negated, 3: _zh_negated, 4: _zh_softened, 5: _zh_less_than_expected,
    6: _zh_double_negation, 7: _zh_a_bit, 8: _zh_feeling, 9: _zh_not_un, 10: _zh_hard_to_say, 11: _zh_no_spot,
    12: _zh_extremely, 13: _zh_complaint, 14: _zh_nothing_to_feel, 15: _zh_recommendation, 16: _zh_intensified,
    17: _zh_fairly, 18: _zh_both, 19: _zh_unbearably, 20: _zh_overall,
}  # form 0 (and any form that does not fit): the default clause
_ZH_FORM_COUNT = 21


# ---- Chinese, grammar 2 (``--augment phrases2``): more aspects and clause forms ------------------------
# Written in session 10 (2026-12-07) from what the dev half of zh.tsv showed the hotel models miss (the
# constructions, not its sentences): 没有一个…不…, 我不会说…, 不能不说…, 从来没…过, idioms that carry
# a 不 (一尘不染), 有礼貌 / 没礼貌, 处处让人…. Grammar 1 is left exactly as it was, so every card's
# ``--augment phrases`` command draws the same reviews it trained on.

ZH_ASPECTS_2 = ZH_ASPECTS + (
    ("性价比", ("高", "不错"), ("低", "差")),
    ("员工", ("热情", "专业", "周到", "勤快"), ("冷淡", "粗鲁", "不耐烦", "懒散")),
    ("菜", ("地道", "好吃", "新鲜", "可口"), ("难吃", "咸", "油腻", "不新鲜")),
    ("景色", ("美", "漂亮", "好"), ("一般", "差")),
    ("电梯", ("快", "新", "方便"), ("慢", "旧", "难等")),
    ("停车", ("方便", "便利"), ("困难", "麻烦", "紧张")),
)
ZH_PEOPLE = ("服务员", "前台", "员工")
ZH_CLAIMS = ("我不会说", "我不觉得", "我不认为", "谁也不会说", "很难认为")
ZH_BREAKDOWNS = (("热水", "断"), ("网络", "断"), ("空调", "坏"), ("电梯", "坏"), ("热水", "停"), ("网络", "卡"), ("空调", "漏水"))
ZH_ROOMS = ("房间", "卫生间", "床", "酒店", "环境")  # what can be clean or smell
ZH_IDIOMS = (  # (idiom, label, the aspects it fits; () for any)
    ("一尘不染", 1, ZH_ROOMS), ("无微不至", 1, ("服务", *ZH_PEOPLE)), ("一丝不苟", 1, ("服务", *ZH_PEOPLE)),
    ("无可挑剔", 1, ()), ("让人赞不绝口", 1, ()), ("不尽如人意", 0, ()), ("不敢恭维", 0, ()),
    ("一塌糊涂", 0, ()), ("乱七八糟", 0, ZH_ROOMS), ("让人不敢恭维", 0, ()))
ZH_SMELLS = ("异味", "霉味", "烟味", "臭味", "怪味")
ZH_WAITS = (("前台没有让我们等", 1), ("前台没让我们久等", 1), ("办理入住很快", 1), ("退房几分钟就办好了", 1),
            ("前台让我们等了很久", 0), ("办理入住等了半天", 0), ("退房排了好久的队", 0), ("入住手续拖了一个小时", 0))
ZH_INTENSIFIERS_2 = ("极其", "格外", "实在", "无比", "相当")


def _zh_none_of_them(rng: random.Random, s: _ZhSlots) -> Clause | None:
    """E.g. "没有一个服务员不热情" (the word's own sentiment) or "没有一个服务员是热情的" (the opposite);
    for things: "没有哪一天热水不充足"."""
    if not s.plain:
        return None
    who = f"没有一个{s.aspect}" if s.aspect in ZH_PEOPLE else f"没有哪一{rng.choice(('天', '次'))}{s.aspect}"
    if rng.random() < 0.5:
        return f"{who}不{s.word}", s.label
    return f"{who}是{s.word}的", 1 - s.label


def _zh_claim_denied(rng: random.Random, s: _ZhSlots) -> Clause:
    """E.g. "我不会说这里的服务好": the opposite of the word."""
    return f"{rng.choice(ZH_CLAIMS)}{rng.choice(('', '这里的'))}{s.aspect}{rng.choice(('', '很'))}{s.word}", 1 - s.label


def _zh_cannot_but(rng: random.Random, s: _ZhSlots) -> Clause:
    """E.g. "房间不能不说是干净的", "不得不说房间很干净": the word's own sentiment."""
    if rng.random() < 0.5:
        return f"{s.aspect}不能不说是{s.word}的", s.label
    return f"{rng.choice(('不得不说', '不得不承认'))}{s.aspect}很{s.word}", s.label


def _zh_breakdown(rng: random.Random, s: _ZhSlots) -> Clause:
    """E.g. "热水从来没断过" (positive) or "热水经常断" (negative)."""
    thing, verb = rng.choice(ZH_BREAKDOWNS)
    if rng.random() < 0.5:
        return f"{thing}{rng.choice(('从来没', '从来没有', '一次也没'))}{verb}过", 1
    return f"{thing}{rng.choice(('经常', '总是', '动不动就'))}{verb}", 0


def _zh_never(rng: random.Random, s: _ZhSlots) -> Clause:
    """E.g. "服务员从来没有冷淡过" (positive), "服务从来没有周到过" (negative)."""
    if s.plain and rng.random() < 0.5:
        return f"{s.aspect}从不{s.word}", 1 - s.label
    return f"{s.aspect}从来没有{s.word}过", 1 - s.label


def _zh_idiom(rng: random.Random, s: _ZhSlots) -> Clause:
    """E.g. "房间一尘不染" (positive), "服务不尽如人意" (negative)."""
    idiom, label, fits = rng.choice(ZH_IDIOMS)
    aspect = s.aspect if not fits or s.aspect in fits else rng.choice(fits)
    return f"{aspect}{rng.choice(('', '真是', '简直'))}{idiom}", label


def _zh_manners(rng: random.Random, s: _ZhSlots) -> Clause:
    """E.g. "员工都特别有礼貌" (positive), "服务员一点礼貌都没有" (negative)."""
    who, what = rng.choice(ZH_PEOPLE), rng.choice(("礼貌", "耐心"))
    if rng.random() < 0.5:
        return f"{who}{rng.choice(('', '都', '也'))}{rng.choice(ZH_INTENSIFIERS)}有{what}", 1
    if rng.random() < 0.5:
        return f"{who}{rng.choice(('没有', '没', '一点也没有'))}{what}", 0
    return f"{who}一点{what}都没有", 0


def _zh_everywhere(rng: random.Random, s: _ZhSlots) -> Clause:
    """E.g. "这次入住处处让人失望"."""
    feeling, good = rng.choice(ZH_FEELINGS)
    return f"{rng.choice(('', '这次入住', '住的几天'))}{rng.choice(('处处', '到处', '每个细节都'))}让人{feeling}", good


def _zh_smell(rng: random.Random, s: _ZhSlots) -> Clause:
    """E.g. "卫生间有一股异味" (negative), "卫生间没有一点异味" (positive)."""
    smell, where = rng.choice(ZH_SMELLS), rng.choice(ZH_ROOMS)
    if rng.random() < 0.5:
        return f"{where}有一股{smell}", 0
    return f"{where}{rng.choice(('没有一点', '闻不到一点', '没有任何'))}{smell}", 1


def _zh_wait(rng: random.Random, s: _ZhSlots) -> Clause:
    """A verdict on checking in or out: "前台没有让我们等" (positive)."""
    return rng.choice(ZH_WAITS)


def _zh_extremely_2(rng: random.Random, s: _ZhSlots) -> Clause:
    """E.g. "位置极其方便", "景色美得出奇"."""
    if rng.random() < 0.5:
        return f"{s.aspect}{rng.choice(ZH_INTENSIFIERS_2)}{s.word}", s.label
    return f"{s.aspect}{s.word}得{rng.choice(('出奇', '惊人'))}", s.label


def _zh_nowhere(rng: random.Random, s: _ZhSlots) -> Clause | None:
    """E.g. "房间没有哪里是干净的" (the opposite), "房间没有哪里不干净" (the word's own sentiment)."""
    if not s.plain:
        return None
    if rng.random() < 0.5:
        return f"{s.aspect}没有哪里是{s.word}的", 1 - s.label
    return f"{s.aspect}没有哪里不{s.word}", s.label


_ZH_FORMS_2 = _ZH_FORMS | {
    21: _zh_none_of_them, 22: _zh_claim_denied, 23: _zh_cannot_but, 24: _zh_breakdown, 25: _zh_never,
    26: _zh_idiom, 27: _zh_manners, 28: _zh_everywhere, 29: _zh_smell, 30: _zh_wait, 31: _zh_extremely_2,
    32: _zh_nowhere,
}
_ZH_FORM_COUNT_2 = 33
_ZH_GRAMMARS = {1: (ZH_ASPECTS, _ZH_FORMS, _ZH_FORM_COUNT), 2: (ZH_ASPECTS_2, _ZH_FORMS_2, _ZH_FORM_COUNT_2)}


def zh_clause(rng: random.Random, grammar: int = 1) -> Clause:
    """One Chinese clause about one aspect of a hotel: (text without final punctuation, label)."""
    aspects, forms, count = _ZH_GRAMMARS[grammar]
    slots = _zh_slots(rng, aspects)
    build = forms.get(rng.randrange(count))
    clause = build(rng, slots) if build else None
    return _zh_default(rng, slots) if clause is None else clause


def zh_review(rng: random.Random, grammar: int = 1) -> Clause:
    """A short Chinese review: one clause, or two of opposite sentiment joined by a contrast word;
    sometimes a verdict of the same sentiment after it."""
    a = zh_clause(rng, grammar)
    if rng.random() < 0.45:
        text, label = a[0] + "。", a[1]
    else:
        b = zh_clause(rng, grammar)
        while b[1] == a[1]:
            b = zh_clause(rng, grammar)
        text, label = rng.choice(ZH_CONTRAST).format(a=a[0], b=b[0]) + "。", b[1]
    if rng.random() < 0.25:
        text += rng.choice(ZH_ENDINGS_POSITIVE if label else ZH_ENDINGS_NEGATIVE)
    return text, label


# ---- both ---------------------------------------------------------------------------------------


GRAMMARS = (1, 2)  # grammar 2 adds Chinese aspects and forms; its English is grammar 1's


def reviews(language: str, count: int, seed: int, grammar: int = 1) -> list[Clause]:
    """``count`` distinct short reviews of the language, drawn by the seed (fewer if the grammar runs out)."""
    make = (lambda rng: zh_review(rng, grammar)) if language == "zh" else en_review
    rng = random.Random(seed + 29)
    seen: dict[str, int] = {}
    for _ in range(count * 20):
        if len(seen) >= count:
            break
        text, label = make(rng)
        seen.setdefault(text, label)
    return list(seen.items())
