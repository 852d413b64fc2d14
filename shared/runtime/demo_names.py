"""Names and codes of the demo county (pure): Chinese names of places, enterprises, cooperatives and
people, and identifiers valid by their standards — unified social credit codes (GB 32100) and
citizen ID numbers (GB 11643) — all synthetic, drawn from a seeded ``random.Random``.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from services.monitoring.personal import check_character as id_check_character
from services.pairing.credit_code import check_character as credit_check_character

# The county names the demo knows; any other served county is called by its code.
COUNTY_NAMES = {"150602": "东胜区"}


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


TOWNSHIP_NAMES = _words("兴和镇 柳沟镇 沙梁镇 泉山镇 乌兰镇 红柳镇 塔拉乡 巴音乡 高头窑乡 新街镇")
# Village names: a family's hamlet (王家塔), a landscape word (柳树湾), or a Mongolian name (巴音敖包).
_FAMILIES = "王李张刘杨赵郝高白贺乔苏任薛武韩马郭石"
_LANDFORMS = ("塔", "梁", "湾", "沟", "渠", "圪旦", "壕", "峁", "营子", "畔", "坪", "洼")
_PLACES = _words(
    "柳树湾 杏树梁 红庆河 石灰沟 黄土坡 沙棘渠 榆树壕 前进 团结 光明 东风 新民 永丰 富兴 "
    "常青 泉子沟 碾房渠 羊场壕 油坊梁 水泉"
)
_MONGOLIAN_PLACES = _words(
    "巴音敖包 查干淖尔 乌兰木伦 哈达图 塔拉壕 阿日斯楞 准格尔召 呼和乌素 额尔和图 布日都 宝日陶亥 赛乌素"
)

_BRANDS = _words(
    "丰泽 瑞禾 金穗 绿源 蒙禾 北疆 塞上 沙柳 牧歌 驼铃 天骄 鑫达 恒泰 聚丰 润田 草原情 "
    "河套湾 金沙 祥瑞 嘉禾 亿农 东方红 晟通 森茂 博远 汇源泉 阳光 同心 众诚 北辰"
)
# (business words, enterprise kind, leading enterprise?) — a leading enterprise (龙头企业) farms or
# processes; the others build, trade or serve.
ENTERPRISE_TRADES = (
    ("农牧科技", "leading_agricultural", True),
    ("肉羊养殖", "leading_agricultural", True),
    ("乳业", "leading_agricultural", True),
    ("马铃薯食品", "leading_agricultural", True),
    ("生态农业开发", "leading_agricultural", True),
    ("饲草料加工", "leading_agricultural", True),
    ("绒毛制品", "private_enterprise", False),
    ("建筑工程", "private_enterprise", False),
    ("商贸", "private_enterprise", False),
    ("电子商务", "private_enterprise", False),
    ("文化旅游发展", "private_enterprise", False),
    ("新能源", "state_owned", False),
    ("煤炭", "state_owned", False),
    ("城市建设投资", "state_owned", False),
    ("物流", "private_enterprise", False),
    ("农业科学研究所", "research_institute", False),
    ("商会", "chamber_of_commerce", False),
)
COOPERATIVE_INDUSTRIES = _words(
    "肉羊养殖 肉牛养殖 绒山羊养殖 马铃薯种植 玉米种植 设施蔬菜 小杂粮种植 沙棘种植 中药材种植 "
    "奶牛养殖 饲草种植 生猪养殖"
)

_SURNAMES = (
    "王王王李李李张张刘刘杨杨赵赵郝高白贺乔苏任薛武韩马郭石陈黄周吴徐孙胡朱何罗梁宋郑谢唐冯于董程"
    "曹袁邓许傅沈彭吕卢蒋蔡贾丁魏叶余潘杜戴田任姜范方姚廖邹熊金陆孔崔康毛邱秦史顾侯邵孟段钱汤尹常"
)
_MALE_GIVEN = _words(
    "伟 强 军 磊 勇 杰 涛 明 超 刚 平 辉 鹏 华 飞 波 斌 宇 浩 凯 建国 建军 海军 志强 永强 "
    "国庆 福生 二小 三虎 拴柱 满仓 存良 文斌 俊峰 海平 银宝 金亮 利军 东升 振华"
)
_FEMALE_GIVEN = _words(
    "芳 娜 敏 静 丽 艳 娟 霞 婷 雪 慧 莉 红 玲 梅 燕 丹 萍 秀英 桂英 玉兰 秀兰 桂兰 凤英 "
    "翠花 春梅 美玲 海燕 彩霞 金花"
)
_CHILD_GIVEN = (
    "子涵",
    "浩宇",
    "雨桐",
    "欣怡",
    "梓轩",
    "一诺",
    "宇航",
    "佳琪",
    "思远",
    "晨曦",
    "博文",
    "语嫣",
)
_MONGOLIAN_MALE = ("巴特尔", "苏和", "额尔敦", "格日勒图", "朝鲁", "宝音", "那顺", "孟和", "巴图", "阿拉坦")
_MONGOLIAN_FEMALE = ("乌云其其格", "其木格", "斯琴", "萨仁", "高娃", "托娅", "乌兰", "娜仁", "塔娜", "图雅")

CADRE_UNITS = _words(
    "区乡村振兴局 区农牧局 区卫生健康委员会 区教育局 区人力资源和社会保障局 区住房和城乡建设局 "
    "区民政局 区工商业联合会 区水利局 区医疗保障局"
)


def pick(rng: random.Random, values: tuple[str, ...] | str) -> str:
    return values[rng.randrange(len(values))]


def village_names(rng: random.Random, n: int) -> list[str]:
    """``n`` distinct village names (…村)."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        roll = rng.random()
        if roll < 0.45:
            stem = pick(rng, _FAMILIES) + "家" + pick(rng, _LANDFORMS)
        elif roll < 0.8:
            stem = pick(rng, _PLACES)
        else:
            stem = pick(rng, _MONGOLIAN_PLACES)
        if stem not in seen:
            seen.add(stem)
            names.append(stem + "村")
    return names


def enterprise_name(rng: random.Random, trade: str, taken: set[str]) -> str:
    while True:
        form = "有限责任公司" if rng.random() < 0.3 else "有限公司"
        if trade.endswith(("研究所", "商会")):
            name = f"鄂尔多斯市{pick(rng, _BRANDS)}{trade}"
        else:
            name = f"{pick(rng, _BRANDS)}{trade}{form}"
        if name not in taken:
            taken.add(name)
            return name


def cooperative_name(village: str, industry: str, n: int) -> str:
    stem = village.removesuffix("村")
    return f"{stem}{industry}专业合作社" if n == 0 else f"{stem}{industry}第{n + 1}专业合作社"


_CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def credit_code(rng: random.Random, prefix: str, county: str, taken: set[str]) -> str:
    """A unified social credit code: ``prefix`` (``91`` an enterprise, ``93`` a farmers'
    cooperative, ``12`` a public institution), the county, an organisation code ``MA…``, and the
    GB 32100 check character."""
    while True:
        body = "MA" + "".join(pick(rng, _CREDIT_CHARSET) for _ in range(7))
        first17 = f"{prefix}{county}{body}"
        code = first17 + credit_check_character(first17)
        if code not in taken:
            taken.add(code)
            return code


def citizen_id(rng: random.Random, county: str, born: date, male: bool, taken: set[str]) -> str:
    """An 18-character citizen ID number (GB 11643): the county, the birth date, a sequence number
    odd for a man and even for a woman, and the check character; never one already ``taken``."""
    while True:
        sequence = rng.randrange(0, 500) * 2 + (1 if male else 0)
        first17 = f"{county}{born:%Y%m%d}{sequence:03d}"
        number = first17 + id_check_character(first17)
        if number not in taken:
            taken.add(number)
            return number


def birth_date(rng: random.Random, today: date, age: int) -> date:
    """A birthday that makes someone ``age`` years old on ``today``."""
    latest = _years_before(today, age)
    return latest - timedelta(days=rng.randrange(365))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def person_name(rng: random.Random, surname: str | None, male: bool, child: bool = False) -> str:
    """A name: the family's surname and a given name, or (a tenth of people) a Mongolian name."""
    if surname is None:
        return pick(rng, _MONGOLIAN_MALE if male else _MONGOLIAN_FEMALE)
    if child and rng.random() < 0.6:
        return surname + pick(rng, _CHILD_GIVEN)
    return surname + pick(rng, _MALE_GIVEN if male else _FEMALE_GIVEN)


def surname(rng: random.Random) -> str | None:
    return None if rng.random() < 0.1 else pick(rng, _SURNAMES)


def mobile(rng: random.Random) -> str:
    """An 11-digit mobile number of the synthetic range 137-0477-xxxx (0477: Ordos's area code)."""
    return f"1370477{rng.randrange(10_000):04d}"
