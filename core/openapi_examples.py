# ruff: noqa: RUF001
"""The main flows' examples in the OpenAPI schema, by operationId (attached by `core.openapi.examples_attached`).

Kept apart from the schema hooks: they are data, and the Chinese names in them carry full-width punctuation."""

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class FlowExample:
    """A worked example of one operation: its request body by media type, and its answer by status."""

    name: str
    summary: Any  # translated when the schema is generated
    request: dict[str, Any] = field(default_factory=dict)
    responses: dict[str, Any] = field(default_factory=dict)

    def entry(self, value: Any) -> dict:
        return {self.name: {"summary": str(self.summary), "value": value}}


# A port operator in Qingdao sells its monthly container throughput to a logistics company, which pays, downloads
# and calls it, values it, computes in the sandbox and is told by webhooks. Amounts are CNY, times Beijing time.

BASE = "https://databourse.example.cn"
MERCHANT = {"id": 3, "name": "青岛港数据科技有限公司"}
BUYER = {"id": 7, "name": "山东海联物流科技有限公司"}
PRODUCT_TITLE = "青岛港集装箱吞吐量 月度数据"
LISTING = {"id": 10, "title": "青岛港集装箱吞吐量 月度数据（2019 年起）"}
PURPOSE = "港口拥堵预测与航线运力规划"

PRODUCT_INPUT = {
    "title": PRODUCT_TITLE,
    "summary": "青岛港各港区集装箱吞吐量（标准箱，TEU）按月统计，分内贸、外贸与空重箱。",
    "description": "数据来自码头作业系统（TOS）月度结算，经港区核对后发布；2019 年 1 月起，每月 10 日前更新上月数据。",
    "sector": "marine",
    "classification": "general",
    "sensitivity_level": 1,
    "acquisition_method": "self_generated",
    "acquisition_note": "码头作业系统月度结算导出，不含船公司与货主信息。",
    "legal_basis": "本公司在港口经营中自行产生的作业统计数据，依《数据安全法》第三十二条合法取得。",
    "right_holding": True,
    "right_processing": True,
    "right_operation": True,
    "update_frequency": "monthly",
    "coverage_start": "2019-01-01",
    "coverage_end": "2025-12-31",
    "spatial_coverage": "山东省青岛市：前湾、董家口、黄岛港区",
    "has_personal_info": False,
    "licence_template": "standard",
    "contact_name": "王海涛",
    "contact_email": "data@qdport-data.example.cn",
    "tags": ["港口", "集装箱", "吞吐量"],
}
PRODUCT_DETAIL = {
    **PRODUCT_INPUT,
    "id": 21,
    "organization": MERCHANT,
    "is_own": True,
    "deidentification_note": "",
    "column_rules": {},
    "sandbox_only": False,
    "status": "draft",
    "status_reason": "",
    "rule_results": None,
    "upload_error": None,
    "quality_score": None,
    "latest_version": None,
    "certificate_number": None,
    "submitted_at": None,
    "registered_at": None,
    "created_at": "2026-03-02T09:15:04+08:00",
    "updated_at": "2026-03-02T09:15:04+08:00",
    "documents": [],
}
CSV_FILE = "month,terminal,trade,teu\n2025-11,前湾港区,外贸,1745300\n2025-11,前湾港区,内贸,412600\n"
VERSION_UPLOADED = {
    "id": 31,
    "product": {"id": 21, "title": PRODUCT_TITLE, "organization": MERCHANT},
    "number": 1,
    "file_name": "qingdao_port_teu_monthly.csv",
    "size": 1843712,
    "sha256": "9f2c4e1b7a0d3c58e6b1f04a2d9e7c3b5a8f6e2d1c0b9a8f7e6d5c4b3a291807",
    "format": "csv",
    "encoding": "",
    "status": "draft",
    "profile_status": "pending",
    "progress": 0,
    "progress_stage": "",
    "error_code": "",
    "error_message": "",
    "row_count": None,
    "quality_score": None,
    "quality": None,
    "pii_kinds": [],
    "created_at": "2026-03-02T09:17:40+08:00",
    "registered_at": None,
    "profile": None,
    "pii_findings": [],
    "masked_sample": [],
}

CONTRACT_TERMS = {
    "listing": LISTING,
    "product": {"id": 21, "title": PRODUCT_TITLE, "sector": "marine"},
    "merchant": {"name": MERCHANT["name"], "credit_code": "91370200MA3C5HBK2D"},
    "buyer": {"name": BUYER["name"], "credit_code": "91370200MA3P8TQL69"},
    "plan": {
        "id": 38,
        "kind": "licence",
        "name": "年度授权（标准许可）",
        "billing_period": "",
        "price_per_call": None,
        "free_calls": 0,
        "rate_limit_per_minute": 0,
        "download_days": 365,
        "exclusive": False,
    },
    "price": "48000.00",
    "currency": "CNY",
    "purpose": PURPOSE,
    "licence": {
        "licence_template": "standard",
        "permitted_purposes": "商业分析、运力规划与内部决策",
        "term_months": 12,
        "territory": "mainland",
        "redistribution": False,
        "onward_transfer": False,
    },
}
TERMS_SHA256 = hashlib.sha256(
    json.dumps(CONTRACT_TERMS, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
).hexdigest()


def _signature(party: str, organization: dict, by: str, at: str, ip: str | None, standing: bool = False) -> dict:
    return {"party": party, "organization": organization, "signed_by": by, "signed_at": at, "ip_address": ip,
            "terms_sha256": TERMS_SHA256, "standing": standing}  # fmt: skip


def _contract(status: str, signatures: list[dict]) -> dict:
    return {
        "id": 5, "number": "DBC-2026-000005", "status": status, "status_reason": "", "listing": LISTING,
        "plan": {"id": 38, "name": "年度授权（标准许可）", "kind": "licence"}, "buyer": BUYER, "merchant": MERCHANT,
        "price": "48000.00", "currency": "CNY", "terms_sha256": TERMS_SHA256, "created_at": "2026-03-05T14:02:11+08:00",
        "starts_at": None, "ends_at": None, "purpose": PURPOSE, "terms": CONTRACT_TERMS, "signatures": signatures,
        "entitlements": [],
    }  # fmt: skip


BUYER_SIGNED = _signature("buyer", BUYER, "李晓燕", "2026-03-05T14:02:11+08:00", "203.0.113.24")
MERCHANT_SIGNED = _signature("merchant", MERCHANT, "王海涛", "2026-03-05T16:40:52+08:00", "198.51.100.7")

PAYMENT = {
    "id": 2, "contract": 5, "contract_number": "DBC-2026-000005", "purpose": "contract", "status": "created",
    "amount": "48000.00", "currency": "CNY", "refunded_amount": "0.00", "refundable": "0.00", "failure_message": "",
    "stripe_payment_intent": "pi_Q8yiFjERokTeY0", "created_at": "2026-03-05T16:45:03+08:00", "succeeded_at": None,
    "refunds": [],
}  # fmt: skip
LINK_TOKEN = "eyJlIjoxMiwidiI6MzF9:1vB2xK:p5Qf0yJk9d3Wm1ZcR7tN8aLh4sE6uVgX2bO0iCqDwYs"
ROWS = [
    {"month": "2025-11", "terminal": "前湾港区", "trade": "外贸", "teu": "1745300"},
    {"month": "2025-11", "terminal": "董家口港区", "trade": "外贸", "teu": "386200"},
]
SANDBOX_SQL = (
    "SELECT 区, count(*) AS 人数, round(avg(月收入_元)) AS 平均月收入\nFROM data\nGROUP BY 区\nORDER BY 人数 DESC"
)
COST_INPUTS = {
    "planning": "68000", "collection": "415000", "storage": "126000", "processing": "232000", "labelling": "94000",
    "maintenance": "88000", "indirect": "157000", "profit_rate": "0.12", "obsolescence_rate": "0.08",
}  # fmt: skip
VALUATION_INPUT = {"product": 21, "method": "cost", "inputs": COST_INPUTS, "holding_purpose": "sale",
                   "pledge_ratio": "0.30", "amortisation_years": 5}  # fmt: skip
WEBHOOK_INPUT = {
    "url": "https://erp.hailian-logistics.example.cn/hooks/databourse",
    "description": "采购系统：合同生效与付款通知",
    "events": ["contract.active", "payment.succeeded", "payment.refunded"],
}

OPERATION_EXAMPLES: dict[str, FlowExample] = {
    "products_create": FlowExample(
        "port_teu_monthly", _("A monthly statistics product drafted by a port operator"),
        request={"application/json": PRODUCT_INPUT}, responses={"201": PRODUCT_DETAIL},
    ),
    "products_upload_version": FlowExample(
        "csv_upload", _("A CSV uploaded; profiling has been queued"),
        request={"multipart/form-data": {"file": CSV_FILE}}, responses={"201": VERSION_UPLOADED},
    ),
    "contracts_create": FlowExample(
        "licence", _("A buyer asks for a yearly licence; the merchant signed the terms as a standing offer"),
        request={"application/json": {"listing": LISTING["id"], "plan": 38, "purpose": PURPOSE}},
        responses={"201": _contract("awaiting_payment", [
            BUYER_SIGNED, _signature("merchant", MERCHANT, "王海涛", "2026-02-20T10:31:09+08:00", None, standing=True),
        ])},
    ),
    "contracts_approve": FlowExample(
        "signed", _("The merchant approves and signs the same terms; payment is next"),
        responses={"200": _contract("awaiting_payment", [BUYER_SIGNED, MERCHANT_SIGNED])},
    ),
    "payments_create": FlowExample(
        "card", _("A payment started; confirm its client_secret with Stripe.js"),
        request={"application/json": {"contract": 5}},
        responses={"201": {"payment": PAYMENT, "client_secret": "pi_Q8yiFjERokTeY0_secret_QVoDyS9hJEW7FX68",
                           "intent_status": "requires_payment_method", "needs_payment": True}},
    ),
    "entitlements_download_link": FlowExample(
        "link", _("A download link, valid for 15 minutes"),
        responses={"201": {"url": f"{BASE}/api/v1/downloads/{LINK_TOKEN}/", "web_url": f"{BASE}/market/d/{LINK_TOKEN}/",
                           "expires_at": "2026-03-06T10:15:00+08:00", "version": 3,
                           "filename": "qingdao_port_teu_monthly-v3.csv"}},
    ),
    "data_rows": FlowExample(
        "filtered", _("Two rows of November 2025, a free call of this month's quota"),
        responses={"200": {"listing": 12, "version": 4, "columns": ["month", "terminal", "trade", "teu"], "limit": 2,
                           "offset": 0, "next": f"{BASE}/api/v1/data/12/rows?limit=2&offset=2&month=2025-11",
                           "rows": ROWS, "usage": {"billable": False, "amount": "0.00", "free_calls_left": 912,
                                                   "rate_limit_remaining": 59}}},
    ),
    "sandbox_runs_create": FlowExample(
        "grouped_count", _("A grouped count queued on a sandbox worker; poll the run"),
        request={"application/json": {"dataset": 4, "sql": SANDBOX_SQL}},
        responses={"202": {"id": 57, "dataset": 4, "organization": BUYER, "sql": SANDBOX_SQL, "status": "queued",
                           "refusal_code": "", "message": "", "row_count": None, "suppressed_rows": 0,
                           "truncated": False, "aggregated": False, "scanned_rows": 0, "duration_ms": None,
                           "created_at": "2026-03-06T11:20:45+08:00", "finished_at": None, "columns": [], "rows": [],
                           "notes": []}},
    ),
    "valuations_create": FlowExample(
        "cost", _("A cost-approach valuation for a pledge, queued"),
        request={"application/json": VALUATION_INPUT},
        responses={"201": {"id": 14, "product": {"id": 21, "title": PRODUCT_TITLE, "organization": MERCHANT},
                           "version_number": 3, "method": "cost", "performer": MERCHANT, "performer_kind": "self",
                           "accredited": False, "status": "queued", "value": None, "low": None, "high": None,
                           "quality_score": None, "as_of": "2026-03-06", "created_at": "2026-03-06T15:02:37+08:00",
                           "finished_at": None, "error": "", "inputs": COST_INPUTS, "result": {}, "sensitivity": [],
                           "holding_purpose": "sale", "pledge_ratio": "0.30", "amortisation_years": 5,
                           "accounting": None}},
    ),
    "webhook_endpoints_create": FlowExample(
        "erp", _("An endpoint for contract and payment events; keep the secret server-side"),
        request={"application/json": WEBHOOK_INPUT},
        responses={"201": {**WEBHOOK_INPUT, "id": 6, "organization": BUYER, "is_active": True,
                           "consecutive_failures": 0, "disabled_at": None, "disabled_reason": "",
                           "created_by": "li.xiaoyan@hailian-logistics.example.cn",
                           "created_at": "2026-03-06T09:40:12+08:00", "updated_at": "2026-03-06T09:40:12+08:00",
                           "secret": "whsec_Jx3kP0qLr8VbN2mT6yHc4sWfA9dZ1uEoG7iQ5nKtR0w"}},
    ),
}  # fmt: skip
