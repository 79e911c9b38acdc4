"""The seeded service catalog of Rui'an's convenience service centers (`make run` publishes it).

Every item the report names is here (老年优待证, 低保, 独生子女证, 二胎申请 with its deposit,
社保, 退休职工养老保险年检, 电动自行车防盗登记 at the police room, 自来水缴费, 农村住房改造,
暂口管理), plus enough others that each of the nine categories has at least one item. The
seed goes through `PublishCatalogItem`'s decider like any admin change, so it is validated
and every item becomes an event.

Codes: category prefix + number (see `intake.domain.catalog`): FP 计划生育, CA 民政,
LS 劳动保障, AG 农业综合, FL 流动人口, LC 国土建设, DP 残联, IC 工商, OT 其他.

About the data: national laws and State Council regulations cited are real. Where a rule is
local (the second-child deposit, the e-bike plate fee standard), the name is a plausible
local rule, not a verified citation; those lines say so. Time limits are working days; most
items are free (不收费) because the laws make them so; the fees are integer fen. The water
bill (自来水缴费) is collected for the water company: the center itself charges no fee, so
the item's fee standard is 0 and the bill is not a fee of the case.
"""

from __future__ import annotations

from datetime import date

from contracts.intake import (
    CatalogItemVersion,
    DepositStandard,
    FeeStandard,
    MaterialForm,
    RequiredMaterial,
)
from contracts.joint import JointBundle
from eventkit.envelope import Actor

from .domain.catalog import PublishCatalogItem, PublishJointBundle

SEED_ACTOR = Actor(id="seed", role="admin", org_id="ruian")
SEED_EFFECTIVE_FROM = date(2026, 1, 1)

# Laws and regulations (real names).
_POPULATION_LAW = "《中华人民共和国人口与计划生育法》"
_ZJ_POPULATION_REG = "《浙江省人口与计划生育条例》"
_ELDERLY_LAW = "《中华人民共和国老年人权益保障法》"
_ZJ_ELDERLY_MEASURES = "《浙江省实施〈中华人民共和国老年人权益保障法〉办法》"
_SOCIAL_ASSISTANCE = "《社会救助暂行办法》"
_SOCIAL_INSURANCE_LAW = "《中华人民共和国社会保险法》"
_FARM_MACHINERY_LAW = "《中华人民共和国农业机械化促进法》"
_LAND_CONTRACT_LAW = "《中华人民共和国农村土地承包法》"
_ZJ_FLOATING_REG = "《浙江省流动人口居住登记条例》"
_FLOATING_FP_REG = "《流动人口计划生育工作条例》"
_PLANNING_LAW = "《中华人民共和国城乡规划法》"
_LAND_LAW = "《中华人民共和国土地管理法》"
_DISABLED_LAW = "《中华人民共和国残疾人保障法》"
_SELF_EMPLOYED_REG = "《个体工商户条例》"
_ROAD_TRAFFIC_LAW = "《中华人民共和国道路交通安全法》"
_WATER_SUPPLY_REG = "《城市供水条例》"
_ID_CARD_LAW = "《中华人民共和国居民身份证法》"
_HUKOU_REG = "《中华人民共和国户口登记条例》"


def _m(
    code: str,
    name_zh: str,
    form: MaterialForm = "copy",
    copies: int = 1,
    later: bool = False,
) -> RequiredMaterial:
    return RequiredMaterial(
        code=code, name_zh=name_zh, form=form, copies=copies, may_supply_later=later
    )


_ID_CARD_COPY = _m("ID_CARD", "居民身份证复印件")
_ID_CARD_ORIGINAL = _m("ID_CARD", "居民身份证", "original")
_HOUSEHOLD_COPY = _m("HOUSEHOLD_REG", "户口簿复印件")
_HOUSEHOLD_ORIGINAL = _m("HOUSEHOLD_REG", "户口簿", "original")
_MARRIAGE_COPY = _m("MARRIAGE_CERT", "结婚证复印件")


def seed_items(effective_from: date = SEED_EFFECTIVE_FROM) -> list[CatalogItemVersion]:
    """Version 1 of every seeded item, effective from `effective_from`."""
    raw: list[dict[str, object]] = [
        # -- 计划生育 family planning --------------------------------------------------------------
        {
            "code": "FP-001",
            "name_zh": "独生子女父母光荣证申领",
            "category": "family_planning",
            "legal_basis": f"{_POPULATION_LAW}；{_ZJ_POPULATION_REG}",
            "implementing_body": "镇(街道)计划生育办公室",
            "handling_tier": "town",
            "case_type": "promised",
            "statutory_limit_days": 20,
            "promised_limit_days": 5,
            "materials": (
                _m("APPLICATION_FORM", "独生子女父母光荣证申领登记表", "original"),
                _m("ID_CARD", "夫妻双方居民身份证复印件", copies=2),
                _HOUSEHOLD_COPY,
                _MARRIAGE_COPY,
                _m("CHILD_BIRTH_CERT", "子女出生医学证明复印件"),
                _m("PHOTO_1IN", "夫妻双方一寸近期免冠照片", "original", copies=2),
            ),
            "result_type": "证件",
        },
        {
            "code": "FP-002",
            "name_zh": "再生育(二胎)申请审批",
            "category": "family_planning",
            "legal_basis": f"{_POPULATION_LAW}；{_ZJ_POPULATION_REG}",
            "implementing_body": "镇(街道)计划生育办公室",
            "handling_tier": "town",
            "case_type": "promised",
            "statutory_limit_days": 30,
            "promised_limit_days": 15,
            "materials": (
                _m("APPLICATION_FORM", "再生育申请审批表", "original"),
                _m("ID_CARD", "夫妻双方居民身份证复印件", copies=2),
                _MARRIAGE_COPY,
                _HOUSEHOLD_COPY,
                _m("PHOTO_1IN", "夫妻双方一寸近期免冠照片", "original", copies=2),
                _m("CHILD_BIRTH_CERT", "现有子女出生医学证明复印件", later=True),
            ),
            # A plausible local rule, not a verified citation (the report names the deposit).
            "deposit": DepositStandard(
                amount_fen=300_000,
                basis="《瑞安市再生育审批保证金管理规定》",
                refund_condition_zh="按审批要求生育后，凭出生医学证明全额退还",
            ),
            "result_type": "批复",
        },
        # -- 民政 civil affairs --------------------------------------------------------------------
        {
            "code": "CA-001",
            "name_zh": "老年优待证办理",
            "category": "civil_affairs",
            "legal_basis": f"{_ELDERLY_LAW}；{_ZJ_ELDERLY_MEASURES}",
            "implementing_body": "瑞安市民政局(老龄工作委员会办公室)",
            "handling_tier": "town",
            "case_type": "promised",
            "statutory_limit_days": 10,
            "promised_limit_days": 5,
            "materials": (
                _m("APPLICATION_FORM", "老年优待证申请表", "original"),
                _ID_CARD_ORIGINAL,
                _HOUSEHOLD_ORIGINAL,
                _m("PHOTO_1IN", "一寸近期免冠照片", "original", copies=2),
            ),
            "result_type": "证件",
        },
        {
            "code": "CA-002",
            "name_zh": "最低生活保障(低保)申请",
            "category": "civil_affairs",
            "legal_basis": _SOCIAL_ASSISTANCE,
            "implementing_body": "瑞安市民政局",
            "handling_tier": "city",
            "case_type": "promised",
            "statutory_limit_days": 30,
            "promised_limit_days": 20,
            "materials": (
                _m("APPLICATION_FORM", "最低生活保障申请书", "original"),
                _m("ID_CARD", "家庭成员居民身份证复印件"),
                _HOUSEHOLD_COPY,
                _m("ASSETS_DECLARATION", "家庭收入及财产状况申报表", "original"),
                _m("INCOME_PROOF", "家庭成员收入证明", "original"),
                _m("ILLNESS_PROOF", "病残证明材料复印件", later=True),
            ),
            "result_type": "批复",
        },
        {
            "code": "CA-003",
            "name_zh": "医疗救助申请",
            "category": "civil_affairs",
            "legal_basis": _SOCIAL_ASSISTANCE,
            "implementing_body": "瑞安市民政局",
            "handling_tier": "city",
            "case_type": "promised",
            "statutory_limit_days": 30,
            "promised_limit_days": 15,
            "materials": (
                _m("APPLICATION_FORM", "医疗救助申请审批表", "original"),
                _ID_CARD_COPY,
                _HOUSEHOLD_COPY,
                _m("MEDICAL_INVOICE", "医疗费用发票", "original"),
                _m("DIAGNOSIS", "出院小结或诊断证明复印件"),
                _m("ASSISTANCE_CERT", "最低生活保障证或特困供养证复印件"),
            ),
            "result_type": "批复",
        },
        # -- 劳动保障 labour and social security ---------------------------------------------------
        {
            "code": "LS-001",
            "name_zh": "城乡居民社会养老保险参保登记(社保)",
            "category": "labour_social_security",
            "legal_basis": _SOCIAL_INSURANCE_LAW,
            "implementing_body": "瑞安市社会保险事业管理中心",
            "handling_tier": "town",
            "case_type": "promised",
            "statutory_limit_days": 15,
            "promised_limit_days": 5,
            "materials": (
                _m("APPLICATION_FORM", "城乡居民社会养老保险参保登记表", "original"),
                _ID_CARD_COPY,
                _HOUSEHOLD_COPY,
                _m("PHOTO_1IN", "一寸近期免冠照片", "original"),
            ),
            "result_type": "回执",
        },
        {
            "code": "LS-002",
            "name_zh": "退休职工养老保险年检(领取养老金资格认证)",
            "category": "labour_social_security",
            "legal_basis": _SOCIAL_INSURANCE_LAW,
            "implementing_body": "瑞安市社会保险事业管理中心",
            "handling_tier": "town",
            "case_type": "promised",
            "statutory_limit_days": 10,
            "promised_limit_days": 3,
            "materials": (
                _m("APPLICATION_FORM", "退休人员养老保险年检表", "original"),
                _ID_CARD_ORIGINAL,
                _m("RETIREMENT_CERT", "退休证", "original"),
            ),
            "result_type": "回执",
        },
        # -- 农业综合 agriculture ------------------------------------------------------------------
        {
            "code": "AG-001",
            "name_zh": "农业机械购置补贴申请",
            "category": "agriculture",
            "legal_basis": _FARM_MACHINERY_LAW,
            "implementing_body": "瑞安市农业局",
            "handling_tier": "city",
            "case_type": "promised",
            "statutory_limit_days": 20,
            "promised_limit_days": 15,
            "materials": (
                _m("APPLICATION_FORM", "农机购置补贴申请表", "original"),
                _ID_CARD_COPY,
                _HOUSEHOLD_COPY,
                _m("PURCHASE_INVOICE", "购机发票", "original"),
                _m("BANK_ACCOUNT", "本人银行卡(折)复印件"),
            ),
            "result_type": "批复",
        },
        {
            "code": "AG-002",
            "name_zh": "农村土地承包经营权流转合同备案",
            "category": "agriculture",
            "legal_basis": f"{_LAND_CONTRACT_LAW}；《农村土地承包经营权流转管理办法》",
            "implementing_body": "镇(街道)农村经营管理站",
            "handling_tier": "town",
            "case_type": "promised",
            "statutory_limit_days": 10,
            "promised_limit_days": 5,
            "materials": (
                _m("TRANSFER_CONTRACT", "土地承包经营权流转合同", "original", copies=3),
                _m("ID_CARD", "流转双方居民身份证复印件", copies=2),
                _m("LAND_CONTRACT_CERT", "农村土地承包经营权证复印件"),
            ),
            "result_type": "回执",
        },
        # -- 流动人口 floating population (暂口管理) -----------------------------------------------
        {
            "code": "FL-001",
            "name_zh": "流动人口居住登记(暂口管理)",
            "category": "floating_population",
            "legal_basis": _ZJ_FLOATING_REG,
            "implementing_body": "瑞安市公安局派出所(流动人口服务管理站受理)",
            "handling_tier": "town",
            "case_type": "promised",
            "statutory_limit_days": 15,
            "promised_limit_days": 7,
            "materials": (
                _m("APPLICATION_FORM", "流动人口居住登记表", "original"),
                _ID_CARD_ORIGINAL,
                _m("RESIDENCE_PROOF", "住所证明(房屋租赁合同或房屋权属证明)复印件"),
                _m("PHOTO_1IN", "一寸近期免冠照片", "original"),
            ),
            "result_type": "证件",
        },
        {
            "code": "FL-002",
            "name_zh": "流动人口婚育证明办理",
            "category": "floating_population",
            "legal_basis": _FLOATING_FP_REG,
            "implementing_body": "镇(街道)计划生育办公室",
            "handling_tier": "town",
            "case_type": "promised",
            "statutory_limit_days": 10,
            "promised_limit_days": 3,
            "materials": (
                _m("APPLICATION_FORM", "流动人口婚育证明申请表", "original"),
                _ID_CARD_COPY,
                _MARRIAGE_COPY,
                _m("PHOTO_1IN", "一寸近期免冠照片", "original"),
            ),
            "result_type": "证明",
        },
        # -- 国土建设 land and construction --------------------------------------------------------
        {
            "code": "LC-001",
            "name_zh": "农村住房改造建设审批",
            "category": "land_construction",
            "legal_basis": f"{_PLANNING_LAW}；{_LAND_LAW}",
            "implementing_body": "镇人民政府(街道办事处)",
            "handling_tier": "town",
            "case_type": "promised",
            "statutory_limit_days": 20,
            "promised_limit_days": 15,
            "materials": (
                _m("APPLICATION_FORM", "农村住房改造建设申请表", "original"),
                _ID_CARD_COPY,
                _HOUSEHOLD_COPY,
                _m("LAND_USE_CERT", "原宅基地土地使用证明复印件"),
                _m("VILLAGE_OPINION", "村(社区)意见及公示材料", "original"),
                _m("BUILDING_DRAWING", "建房设计图或通用图集选用证明", later=True),
            ),
            "result_type": "证件",
        },
        # -- 残联 disabled persons -----------------------------------------------------------------
        {
            "code": "DP-001",
            "name_zh": "残疾人证申领",
            "category": "disabled_persons",
            "legal_basis": _DISABLED_LAW,
            "implementing_body": "瑞安市残疾人联合会",
            "handling_tier": "city",
            "case_type": "promised",
            "statutory_limit_days": 30,
            "promised_limit_days": 20,
            "materials": (
                _m("APPLICATION_FORM", "中华人民共和国残疾人证申请表", "original"),
                _ID_CARD_COPY,
                _HOUSEHOLD_COPY,
                _m("PHOTO_2IN", "二寸近期免冠彩色照片", "original", copies=3),
                _m("DISABILITY_ASSESSMENT", "残疾评定表", "original", later=True),
            ),
            "result_type": "证件",
        },
        # -- 工商 industry and commerce ------------------------------------------------------------
        {
            "code": "IC-001",
            "name_zh": "个体工商户设立登记",
            "category": "industry_commerce",
            "legal_basis": _SELF_EMPLOYED_REG,
            "implementing_body": "瑞安市工商行政管理局(镇(街道)工商所)",
            "handling_tier": "town",
            "case_type": "promised",
            "statutory_limit_days": 15,
            "promised_limit_days": 3,
            "materials": (
                _m("APPLICATION_FORM", "个体工商户开业登记申请书", "original"),
                _m("ID_CARD", "经营者居民身份证复印件"),
                _m("PREMISES_PROOF", "经营场所使用证明复印件"),
                _m("PHOTO_1IN", "经营者一寸近期免冠照片", "original"),
                _m("PRIOR_PERMIT", "前置许可文件(经营项目涉及时)", later=True),
            ),
            "result_type": "证件",
        },
        # -- 其他 others ---------------------------------------------------------------------------
        {
            "code": "OT-001",
            "name_zh": "电动自行车防盗登记及号牌发放",
            "category": "other",
            "legal_basis": _ROAD_TRAFFIC_LAW,
            "implementing_body": "瑞安市公安局派出所(社区警务室)",
            "handling_tier": "community",
            "case_type": "same_day",
            "statutory_limit_days": 0,
            "promised_limit_days": 0,
            "materials": (
                _ID_CARD_ORIGINAL,
                _m("PURCHASE_INVOICE", "购车发票", "original"),
                _m("CERT_OF_CONFORMITY", "车辆合格证", "original"),
                _m("VEHICLE", "电动自行车实车(人车同到，现场查验)", "original"),
            ),
            # A plausible provincial price-bureau standard, not a verified citation.
            "fee": FeeStandard(
                amount_fen=1_000, basis="浙江省物价局核定的电动自行车号牌及防盗标识工本费标准"
            ),
            "result_type": "证件",
            "agency_allowed": False,
        },
        {
            "code": "OT-002",
            "name_zh": "自来水缴费",
            "category": "other",
            "legal_basis": _WATER_SUPPLY_REG,
            "implementing_body": "瑞安市自来水有限公司(社区三级缴费点代收)",
            "handling_tier": "community",
            "case_type": "same_day",
            "statutory_limit_days": 0,
            "promised_limit_days": 0,
            "materials": (_m("WATER_BILL", "水费缴费通知单", "original"),),
            "result_type": "缴费凭证",
        },
        {
            "code": "OT-003",
            "name_zh": "居民身份证申领、换领",
            "category": "other",
            "legal_basis": _ID_CARD_LAW,
            "implementing_body": "瑞安市公安局派出所(户籍窗口)",
            "handling_tier": "town",
            "case_type": "promised",
            # The law says 60 days (calendar); here as working days, like every limit.
            "statutory_limit_days": 40,
            "promised_limit_days": 20,
            "materials": (
                _m("APPLICATION_FORM", "居民身份证申领登记表", "original"),
                _HOUSEHOLD_ORIGINAL,
                _m("OLD_ID_CARD", "原居民身份证(换领时)", "original", later=True),
            ),
            "fee": FeeStandard(
                amount_fen=2_000,
                basis=f"{_ID_CARD_LAW}第二十条；居民身份证工本费标准(国家发展改革委、财政部核定)",
            ),
            "result_type": "证件",
            "agency_allowed": False,
        },
        # -- 出生一件事: the birth-related items of the joint bundle LB-001 ----------------------
        {
            "code": "FP-003",
            "name_zh": "生育登记",
            "category": "family_planning",
            "legal_basis": f"{_POPULATION_LAW}；{_ZJ_POPULATION_REG}",
            "implementing_body": "村(社区)计划生育服务室",
            "handling_tier": "community",
            "case_type": "promised",
            "statutory_limit_days": 5,
            "promised_limit_days": 2,
            "materials": (
                _m("APPLICATION_FORM", "生育登记表", "original"),
                _m("ID_CARD", "夫妻双方居民身份证复印件", copies=2),
                _HOUSEHOLD_COPY,
                _MARRIAGE_COPY,
            ),
            "result_type": "回执",
        },
        {
            "code": "OT-004",
            "name_zh": "新生儿出生登记(申报户口)",
            "category": "other",
            # 《户口登记条例》第七条: 婴儿出生后一个月以内申报出生登记.
            "legal_basis": _HUKOU_REG,
            "implementing_body": "瑞安市公安局派出所(户籍窗口)",
            "handling_tier": "town",
            "case_type": "promised",
            "statutory_limit_days": 10,
            "promised_limit_days": 3,
            "materials": (
                _m("CHILD_BIRTH_CERT", "出生医学证明", "original"),
                _HOUSEHOLD_ORIGINAL,
                _m("ID_CARD", "父母双方居民身份证复印件", copies=2),
                _MARRIAGE_COPY,
            ),
            "result_type": "户口簿登记",
            "agency_allowed": False,
        },
        {
            "code": "LS-003",
            "name_zh": "新生儿城乡居民基本医疗保险参保登记",
            "category": "labour_social_security",
            "legal_basis": _SOCIAL_INSURANCE_LAW,
            "implementing_body": "镇(街道)劳动保障所",
            "handling_tier": "town",
            "case_type": "promised",
            "statutory_limit_days": 10,
            "promised_limit_days": 5,
            "materials": (
                _m("APPLICATION_FORM", "城乡居民基本医疗保险参保登记表", "original"),
                _HOUSEHOLD_COPY,
                _m("CHILD_BIRTH_CERT", "出生医学证明复印件"),
            ),
            "result_type": "参保凭证",
        },
    ]
    return [
        CatalogItemVersion.model_validate({"version": 1, "effective_from": effective_from, **r})
        for r in raw
    ]


def seed_commands(
    effective_from: date = SEED_EFFECTIVE_FROM, actor: Actor = SEED_ACTOR
) -> list[PublishCatalogItem]:
    """The admin commands that publish the seed, in code order."""
    return [PublishCatalogItem(item=item, actor=actor) for item in seed_items(effective_from)]


def seed_bundles(effective_from: date = SEED_EFFECTIVE_FROM) -> list[JointBundle]:
    """The seeded joint bundles (联办事项), version 1.

    - LB-001 出生一件事联办 (the report's 六证联办 kind): the birth-related certificates,
      decided side by side at the community (生育登记) and the town (户口, 医保, 光荣证); the
      parents' ID cards, the household register, the marriage and birth certificates are
      handed in once; a refusal of one does not stop the others; one result when all are done.
    - LB-002 流动人口电动自行车登记上牌联办: a non-local resident's residence registration
      (暂口管理, town) first, then the e-bike registration with its plate at the community
      police room; the ID card is shown once; no plate without the registration (a refusal
      stops the rest); each result goes back as it is decided.
    Which items a local bundle holds is a plausible reading of the report, not a citation.
    """
    return [
        JointBundle(
            code="LB-001",
            version=1,
            name_zh="出生一件事联办(生育登记、出生落户、新生儿医保、独生子女父母光荣证)",
            members=("FP-003", "OT-004", "LS-003", "FP-001"),
            shared_materials=("ID_CARD", "HOUSEHOLD_REG", "MARRIAGE_CERT", "CHILD_BIRTH_CERT"),
            approval_order="parallel",
            on_refusal="continue",
            result_return="once",
            effective_from=effective_from,
        ),
        JointBundle(
            code="LB-002",
            version=1,
            name_zh="流动人口电动自行车登记上牌联办(居住登记、防盗登记及号牌)",
            members=("FL-001", "OT-001"),
            shared_materials=("ID_CARD",),
            approval_order="sequential",
            on_refusal="stop_others",
            result_return="per_member",
            effective_from=effective_from,
        ),
    ]


def seed_bundle_commands(
    effective_from: date = SEED_EFFECTIVE_FROM, actor: Actor = SEED_ACTOR
) -> list[PublishJointBundle]:
    """The admin commands that publish the seeded bundles (after the items they name)."""
    return [PublishJointBundle(bundle=b, actor=actor) for b in seed_bundles(effective_from)]
