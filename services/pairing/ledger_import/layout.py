"""The ledger's columns: Chinese headers, what each holds, and where it goes in the commands.

One row is one pairing agreement (结对协议); the enterprise's and the village's columns repeat on
every row that names them. docs/ledger-import.md is the officers' version of this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum

from shared.events.labels import (
    ENTERPRISE_KINDS,
    LEADING_LEVELS,
    MODES,
    PATHWAYS,
    VILLAGE_CATEGORIES,
)
from shared.tabular.columns import by_header
from shared.tabular.columns import normalise_header as normalise_header


class Kind(StrEnum):
    text = "text"
    code = "code"  # digits and capitals that must stay text (a number cell loses leading digits)
    choice = "choice"  # one Chinese name (or English code) of an enumeration
    choices = "choices"  # several, separated by 、 ， , ; or /
    yes_no = "yes_no"
    date = "date"
    integer = "integer"
    money = "money"  # yuan, at most 2 decimals
    ignored = "ignored"


class Target(StrEnum):
    """The command a column feeds."""

    enterprise = "enterprise"
    village = "village"
    agreement = "agreement"
    none = "none"


NO_LEADING_LEVEL = ("无",)  # written by officers for "not a leading enterprise"
PATHWAY_SUFFIX = "帮扶"  # 产业帮扶 is as common in ledgers as 产业
EXAMPLE_MARK = "示例"  # 序号 of the template's example row: never imported


@dataclass(frozen=True, eq=False)  # each column is one object: compared and hashed by identity
class Column:
    header: str
    target: Target
    field: tuple[str, ...]  # the command field it feeds, nested for commitments
    kind: Kind
    required: bool
    description: str
    example: str
    names: dict[Enum, str] | None = None  # for choice(s): value -> Chinese name

    @property
    def field_name(self) -> str:
        return ".".join(self.field)

    def accepted(self) -> list[str]:
        """The Chinese names a choice column accepts, in the catalogue's order."""
        return list(self.names.values()) if self.names else []


_E, _V, _A = Target.enterprise, Target.village, Target.agreement

COLUMNS: tuple[Column, ...] = (
    Column("序号", Target.none, (), Kind.ignored, False, "Row number of the old ledger; not imported", "1"),
    Column(
        "企业名称",
        _E,
        ("name",),
        Kind.text,
        True,
        "Enterprise name, 1–200 characters",
        "某某农业发展有限公司",
    ),
    Column(
        "统一社会信用代码",
        _E,
        ("credit_code",),
        Kind.code,
        True,
        "18 characters with a valid check character (GB 32100-2015); identifies the enterprise",
        "",
    ),
    Column(
        "企业类型", _E, ("kind",), Kind.choice, True, "Kind of enterprise", "民营企业", dict(ENTERPRISE_KINDS)
    ),
    Column(
        "企业注册地区县代码", _E, ("county_code",), Kind.code, True, "6-digit county code of registration", ""
    ),
    Column("联系人", _E, ("contact_name",), Kind.text, False, "Contact person, up to 50 characters", "张三"),
    Column("联系电话", _E, ("contact_phone",), Kind.code, False, "5–20 digits, + - or spaces", "13800000000"),
    Column(
        "龙头企业级别",
        _E,
        ("leading_level",),
        Kind.choice,
        False,
        "Level of recognition as a leading enterprise (龙头企业); empty or 无 when it is none",
        "省级",
        dict(LEADING_LEVELS),
    ),
    Column("村名称", _V, ("name",), Kind.text, True, "Village name, 1–200 characters", "某某村"),
    Column(
        "村统计用区划代码",
        _V,
        ("village_code",),
        Kind.code,
        True,
        "12-digit statistical division code (统计用区划代码) of a village of this deployment's counties",
        "",
    ),
    Column(
        "村类别",
        _V,
        ("category",),
        Kind.choice,
        True,
        "Village category",
        "重点帮扶村",
        dict(VILLAGE_CATEGORIES),
    ),
    Column(
        "是否脱贫村",
        _V,
        ("former_poverty_village",),
        Kind.yes_no,
        False,
        "是 or 否 (empty: 否): a village lifted out of poverty (脱贫村)",
        "是",
    ),
    Column(
        "签约日期",
        _A,
        ("signed_on",),
        Kind.date,
        True,
        "YYYY-MM-DD (also YYYY/M/D, YYYY.M.D, YYYY年M月D日), or a date cell",
        "2026-11-01",
    ),
    Column("协议期限（年）", _A, ("term_years",), Kind.integer, True, "Whole years, 1–10", "3"),
    Column(
        "协议文号",
        _A,
        ("document_ref",),
        Kind.text,
        True,
        "Document number of the written agreement; with the credit code and village code it "
        "identifies the agreement",
        "XC-2026-001",
    ),
    Column(
        "帮扶途径",
        _A,
        ("pathways",),
        Kind.choices,
        True,
        "One or more, separated by 、 ， , ; or /; each named once (产业帮扶 is read as 产业)",
        "产业、就业",
        dict(PATHWAYS),
    ),
    Column("振兴模式", _A, ("mode",), Kind.choice, True, "Revitalisation mode", "订单合作", dict(MODES)),
    Column(
        "投资额（元）",
        _A,
        ("commitments", "investment_yuan"),
        Kind.money,
        False,
        "Committed investment, yuan, at most 2 decimals (empty: 0)",
        "1500000.00",
    ),
    Column("就业（人）", _A, ("commitments", "jobs"), Kind.integer, False, "Jobs committed (empty: 0)", "20"),
    Column(
        "培训（人）", _A, ("commitments", "trainees"), Kind.integer, False, "People to train (empty: 0)", "5"
    ),
    Column(
        "消费帮扶（元）",
        _A,
        ("commitments", "purchases_yuan"),
        Kind.money,
        False,
        "Committed purchases of village produce (消费帮扶), yuan (empty: 0)",
        "200000",
    ),
    Column(
        "捐赠（元）",
        _A,
        ("commitments", "donations_yuan"),
        Kind.money,
        False,
        "Donations (捐赠), yuan (empty: 0)",
        "0",
    ),
    Column("备注", Target.none, (), Kind.ignored, False, "Remarks; not imported", ""),
)


BY_HEADER: dict[str, Column] = by_header(COLUMNS)


def column_for(target: Target, field: tuple[str, ...]) -> Column:
    """The column feeding ``field`` of ``target``'s command (its first, for nested paths)."""
    for column in COLUMNS:
        if column.target is target and column.field == field[: len(column.field)]:
            return column
    raise KeyError((target, field))


def display(column: Column, value: object) -> str:
    """A command or event value as the officer would have written it in ``column``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | tuple):
        return "、".join(display(column, item) for item in value)
    if column.names is not None:
        for member, name in column.names.items():
            if value == member or value == member.value:
                return name
    return str(value)
