"""The documented column layouts of the exchange with the provincial platform (docs/integration.md).

Import: one row per household's quarterly survey (季度监测), Chinese headers in any order.
Export: one row per monitored household, its identity columns headed and spelled as in the import.
The Chinese names of the enumerations are shared by both directions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.events import labels


class Kind(StrEnum):
    village_code = "village_code"  # 12 digits that must stay text
    text = "text"
    citizen_id = "citizen_id"  # 18 characters, GB 11643; never shown in clear in a report
    status = "status"  # 户类型, by its Chinese name
    integer = "integer"
    period = "period"  # 2026Q3 or 2026年第3季度
    yuan = "yuan"  # at most 2 decimals, may be negative
    yuan_spent = "yuan_spent"  # at most 2 decimals, ≥ 0, empty is 0
    date = "date"
    phone = "phone"
    ignored = "ignored"


@dataclass(frozen=True, eq=False)  # each column is one object: compared and hashed by identity
class Column:
    header: str
    field: str  # the name the report gives it (the API's name for the value)
    kind: Kind
    required: bool
    meaning: str
    accepted: str  # type and accepted values, as docs/integration.md gives them
    example: str


# The Chinese names of the catalogue's values (shared.events.labels), under this module's names.
STATUS_NAMES = labels.HOUSEHOLD_STATUSES
STAGE_NAMES = labels.STAGES
CATEGORY_NAMES = labels.MONITORED_CATEGORIES
RISK_NAMES = labels.RISK_TYPES
SOURCE_NAMES = labels.FLAG_SOURCES
MEASURE_NAMES = labels.ASSISTANCE_MEASURES
LIST_SEPARATOR = "、"
ERASED_MARK = "已删除"  # 个人信息状态 of a household whose personal data was erased

_MONEY = "yuan, at most 2 decimals; thousands separators accepted"

SERIAL = Column(
    "批次内序号", "serial", Kind.ignored, False, "Row number within the batch; not imported", "", "1"
)
VILLAGE = Column(
    "村代码",
    "village_code",
    Kind.village_code,
    True,
    "12-digit statistical division code (统计用区划代码) of the household's village",
    "12 digits, a village of a county this deployment serves; text cell in XLSX",
    "150602100001",
)
HEAD_NAME = Column(
    "户主姓名", "head_name", Kind.text, True, "Name of the head of household", "1–50 characters", "张三"
)
HEAD_ID = Column(
    "户主身份证号",
    "head_id_number",
    Kind.citizen_id,
    True,
    "Citizen ID number of the head of household: finds the household",
    "18 characters, GB 11643 check character (x is read as X); text cell in XLSX",
    "150602197001010017",
)
STATUS = Column(
    "户类型",
    "status",
    Kind.status,
    True,
    "Household status",
    "、".join(STATUS_NAMES.values()) + " (or former_poor、ordinary、low_income)",
    "脱贫户",
)
MEMBERS = Column(
    "家庭人口", "members", Kind.integer, True, "Members of the household", "whole number 1–50", "4"
)
PERIOD = Column(
    "季度",
    "period",
    Kind.period,
    True,
    "The quarter surveyed",
    "2026Q3, or 2026年第3季度 (also 2026年第三季度)",
    "2026Q3",
)
INCOME = Column(
    "家庭人均纯收入(元)",
    "per_capita_net_income_yuan",
    Kind.yuan,
    True,
    "Per-capita net income over the 12 months to the quarter's end",
    _MONEY + "; may be negative (a loss), not below −1,000,000",
    "8650.00",
)
MEDICAL = Column(
    "医疗自付支出(元)",
    "expenses.medical",
    Kind.yuan_spent,
    False,
    "Compliant out-of-pocket medical expenses of the household, 12 months",
    _MONEY + "; ≥ 0; empty is 0",
    "3200.00",
)
SCHOOLING = Column(
    "教育自付支出(元)",
    "expenses.schooling",
    Kind.yuan_spent,
    False,
    "Out-of-pocket schooling expenses, 12 months",
    _MONEY + "; ≥ 0; empty is 0",
    "0",
)
DISASTER = Column(
    "灾害损失支出(元)",
    "expenses.disaster",
    Kind.yuan_spent,
    False,
    "Losses and expenses from natural disasters, 12 months",
    _MONEY + "; ≥ 0; empty is 0",
    "0",
)
ACCIDENT = Column(
    "意外事故支出(元)",
    "expenses.accident",
    Kind.yuan_spent,
    False,
    "Expenses from accidents, 12 months",
    _MONEY + "; ≥ 0; empty is 0",
    "0",
)
SURVEYED_ON = Column(
    "调查日期",
    "surveyed_on",
    Kind.date,
    True,
    "Day of the survey",
    "YYYY-MM-DD (also YYYY/M/D, YYYY.M.D, YYYY年M月D日) or a date cell; "
    "not before the quarter's first day, not after today",
    "2026-09-28",
)
PHONE = Column(
    "联系电话",
    "phone",
    Kind.phone,
    False,
    "The household's phone (used when the household is created)",
    "5–20 digits, + - or spaces",
    "13900001234",
)
REMARKS = Column("备注", "remarks", Kind.ignored, False, "Remarks; not imported", "", "")

IMPORT_COLUMNS: tuple[Column, ...] = (
    SERIAL,
    VILLAGE,
    HEAD_NAME,
    HEAD_ID,
    STATUS,
    MEMBERS,
    PERIOD,
    INCOME,
    MEDICAL,
    SCHOOLING,
    DISASTER,
    ACCIDENT,
    SURVEYED_ON,
    PHONE,
    REMARKS,
)
IMPORT_HEADERS: list[str] = [c.header for c in IMPORT_COLUMNS]


@dataclass(frozen=True)
class ExportColumn:
    header: str
    meaning: str
    example: str


EXPORT_COLUMNS: tuple[ExportColumn, ...] = (
    ExportColumn("户编号", "The household's id in this system (UUID)", "0193f7c2-…"),
    ExportColumn(VILLAGE.header, VILLAGE.meaning, VILLAGE.example),
    ExportColumn(HEAD_NAME.header, HEAD_NAME.meaning + "; empty when erased", HEAD_NAME.example),
    ExportColumn(
        HEAD_ID.header,
        "As in the import; masked (1506**********0017) unless the caller is `platform`; empty when erased",
        "1506**********0017",
    ),
    ExportColumn(STATUS.header, "、".join(STATUS_NAMES.values()), "脱贫户"),
    ExportColumn(MEMBERS.header, "Members on record", "4"),
    ExportColumn("监测阶段", "Stage: " + "、".join(STAGE_NAMES.values()), "监测帮扶中"),
    ExportColumn(
        "监测对象类别", "Category once enrolled: " + "、".join(CATEGORY_NAMES.values()), "边缘易致贫户"
    ),
    ExportColumn("风险类型", "Risk types, separated by 、: " + "、".join(RISK_NAMES.values()), "因病、因学"),
    ExportColumn(
        "识别来源", "How the household was found: " + "、".join(SOURCE_NAMES.values()), "监测规则预警"
    ),
    ExportColumn("识别日期", "Day it was flagged (YYYY-MM-DD)", "2026-09-28"),
    ExportColumn("纳入日期", "Day the county approved its enrolment (县级审定)", "2026-10-15"),
    ExportColumn("帮扶联系人", "The assigned contact (帮扶联系人)", "李四"),
    ExportColumn("联系人单位", "The contact's work unit", "某某镇人民政府"),
    ExportColumn("联系人电话", "The contact's phone", "13800001111"),
    ExportColumn(
        "帮扶措施", "Measures planned, separated by 、: " + "、".join(MEASURE_NAMES.values()), "健康帮扶"
    ),
    ExportColumn("帮扶次数", "Deliveries of assistance recorded", "2"),
    ExportColumn("帮扶金额(元)", "Yuan delivered, 2 decimals", "1500.00"),
    ExportColumn("风险消除日期", "Day the risk was marked eliminated (风险消除)", ""),
    ExportColumn(
        "个人信息状态", f"{ERASED_MARK} when the household's personal data was erased, else empty", ""
    ),
)
EXPORT_HEADERS: list[str] = [c.header for c in EXPORT_COLUMNS]
