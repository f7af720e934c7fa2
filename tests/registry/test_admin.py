"""The regulator console for the registry: review queues, decisions, rules and certificates."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from registry import services
from registry.choices import ProductStatus
from registry.models import DataProduct, NegativeListRule, ProductVersion, RegistrationCertificate, VersionStatus
from tests.admin import otp_login
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.registry import CSV, DataProductFactory, upload_version

pytestmark = pytest.mark.django_db

RAW_MOBILE, MASKED_MOBILE = "13812340001", "138****0001"
REASON = "Checked the legal basis against the supporting documents."


@pytest.fixture
def regulator():
    return member(OrganizationFactory(kind="regulator", can_buy=False), "admin")


@pytest.fixture
def console(client, regulator):
    """A client logged into the admin as a regulator with a verified TOTP device."""
    otp_login(client, regulator)
    return client


@pytest.fixture
def submit(django_capture_on_commit_callbacks):
    """Build a product, upload (and profile) a version, submit it; returns the product."""

    def make(content: bytes = CSV, **fields) -> DataProduct:
        fields = {"has_personal_info": True, "deidentification_note": "Mobile numbers are masked.", **fields}
        product = DataProductFactory(**fields)
        with django_capture_on_commit_callbacks(execute=True):
            upload_version(product, content)
        return services.product_submit(product=product, by=owner_of(product.organization))

    return make


@pytest.fixture
def registered(submit, regulator):
    product = submit()
    services.product_approve(product=product, by=regulator, reason="Complete and lawful.")
    return DataProduct.objects.get(pk=product.pk)


def _url(name: str, *args) -> str:
    return reverse(f"admin:registry_{name}", args=args)


def _decide(client, product, verb: str, reason: str):
    return client.post(_url("dataproduct_decide", product.pk, verb), {"reason": reason})


# --- access ---------------------------------------------------------------------------------------------------------


def test_a_merchant_cannot_reach_the_registry_console(client, org, submit):
    # given a merchant with a verified device of their own (not staff, not a regulator)
    product = submit()
    otp_login(client, owner_of(org))
    # then every registry page sends them to the admin login
    for url in [_url("dataproduct_changelist"), _url("dataproduct_change", product.pk), _url("negativelistrule_add")]:
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert _decide(client, product, "approve", REASON).status_code == 302
    assert DataProduct.objects.get(pk=product.pk).status == ProductStatus.SUBMITTED


# --- the registration queue ----------------------------------------------------------------------------------------


def test_queue_opens_on_products_awaiting_review(console, submit):
    waiting = submit()
    draft = DataProductFactory(title="Unsubmitted draft")
    page = console.get(_url("dataproduct_changelist")).content.decode()
    assert waiting.title in page and draft.title not in page
    assert "Awaiting review" in page
    everything = console.get(_url("dataproduct_changelist") + "?status=all").content.decode()
    assert waiting.title in everything and draft.title in everything
    # a search looks beyond the queue, by title, organisation name or credit code
    found = console.get(_url("dataproduct_changelist") + f"?q={draft.organization.credit_code}").content.decode()
    assert draft.title in found and waiting.title not in found


def test_queue_shows_quality_and_personal_information(console, submit):
    product = submit()
    page = console.get(_url("dataproduct_changelist")).content.decode()
    score = product.versions.get().quality_score
    assert f"{score:.1f}" in page
    assert "Mobile phone number" in page and "declared" in page


def test_changelist_query_count_does_not_grow_with_the_queue(console, submit, django_assert_max_num_queries):
    for _ in range(10):
        submit()
    # session, user, OTP device, permissions, count, rows (latest version's quality and PII as subqueries)
    for url in [_url("dataproduct_changelist"), _url("productversion_changelist") + "?status=all"]:
        with django_assert_max_num_queries(10):
            response = console.get(url)
        assert response.status_code == 200
        assert response.content.decode().count('class="action-select"') == 10


def test_change_page_shows_profile_pii_masked_sample_rules_and_trail(console, submit):
    product = submit()
    page = console.get(_url("dataproduct_change", product.pk)).content.decode()
    # the profile: row count, per-column statistics, quality per dimension
    assert "手机" in page and "BIGINT" in page and "Completeness" in page and "Timeliness" in page
    # PII findings and the masked sample, never the raw values (not even as a column's minimum or maximum)
    assert "Mobile phone number" in page and "Person&#x27;s name" in page and "100.0 %" in page
    assert MASKED_MOBILE in page and RAW_MOBILE not in page and "13812340020" not in page
    assert "张*" in page and "张伟" not in page
    # the negative list at submission and the ledger
    assert "core-data" in page and "pii-not-deidentified" in page and "Passed" in page
    assert "dataproduct.submitted" in page and "dataproduct.created" in page
    # decisions that apply to a submitted product, and only those
    for verb in ["approve", "request_changes", "reject"]:
        assert f"decide/{verb}/" in page
    for verb in ["suspend", "reinstate", "revoke"]:
        assert f"decide/{verb}/" not in page
    assert 'name="_save"' not in page


def test_change_page_shows_the_column_rules_and_what_did_not_fit(console, submit):
    # given a product whose declared date column holds three values that are not dates
    rules = {"日期": {"type": "date", "pattern": ""}, "手机": {"type": "text", "pattern": r"1[3-9]\d{9}"}}
    content = CSV.replace(b"2026-11-01", b"2026-11-31").replace(b"2026-11-02", b"x").replace(b"2026-11-03", b"y")
    product = submit(content, column_rules=rules)
    # then the regulator sees the rules, and how many values broke them
    page = console.get(_url("dataproduct_change", product.pk)).content.decode()
    assert "<td>日期</td><td>Date</td>" in page and "<td>手机</td><td>Text /1[3-9]\\d{9}/</td>" in page
    assert "3 / 20 (15.0 %)" in page and "0 / 20 (0.0 %)" in page


def test_supporting_documents_stream_to_regulators_as_downloads(console, org, django_capture_on_commit_callbacks):
    product = DataProductFactory(organization=org)
    upload = SimpleUploadedFile("consent.txt", b"<script>alert(1)</script>", content_type="text/plain")
    document = services.document_add(product=product, by=owner_of(org), title="Consent <b>form</b>", file=upload)
    page = console.get(_url("dataproduct_change", product.pk)).content.decode()
    url = _url("dataproduct_document", product.pk, document.pk)
    assert url in page and "Consent &lt;b&gt;form&lt;/b&gt;" in page
    response = console.get(url)
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"
    other = DataProductFactory()
    assert console.get(_url("dataproduct_document", other.pk, document.pk)).status_code == 404


def test_merchant_html_is_escaped_on_the_list_and_the_change_page(console, submit):
    csv = "日期,<i>备注</i>\n2026-11-01,<b>bold</b>\n2026-11-02,plain\n".encode()
    product = submit(content=csv, title="<script>alert('x')</script>Port data", has_personal_info=False)
    escaped = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;Port data"
    listing = console.get(_url("dataproduct_changelist")).content.decode()
    page = console.get(_url("dataproduct_change", product.pk)).content.decode()
    for html in [listing, page]:
        assert escaped in html and "<script>alert('x')" not in html
    assert "&lt;i&gt;备注&lt;/i&gt;" in page and "<i>备注</i>" not in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page


# --- decisions -----------------------------------------------------------------------------------------------------


def test_approve_needs_a_reason_then_registers_and_issues_a_certificate(console, submit, regulator):
    product = submit()
    empty = _decide(console, product, "approve", "   ")
    assert empty.status_code == 200 and "This field is required" in empty.content.decode()
    assert DataProduct.objects.get(pk=product.pk).status == ProductStatus.SUBMITTED

    response = _decide(console, product, "approve", REASON)

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.status == ProductStatus.REGISTERED and product.status_reason == REASON
    certificate = RegistrationCertificate.objects.get(product=product)
    assert services.certificate_verify(certificate.number)["valid"]
    assert product.versions.get().status == VersionStatus.REGISTERED
    event = AuditEvent.objects.get(action="dataproduct.registered", object_id=str(product.pk))
    assert event.actor_id == str(regulator.pk) and event.data["reason"] == REASON
    page = console.get(_url("dataproduct_change", product.pk)).content.decode()
    assert certificate.number in page and REASON in page


@pytest.mark.parametrize(
    ("before", "verb", "after"),
    [
        (ProductStatus.SUBMITTED, "request_changes", ProductStatus.CHANGES_REQUESTED),
        (ProductStatus.SUBMITTED, "reject", ProductStatus.REJECTED),
        (ProductStatus.REGISTERED, "suspend", ProductStatus.SUSPENDED),
        (ProductStatus.SUSPENDED, "reinstate", ProductStatus.REGISTERED),
        (ProductStatus.REGISTERED, "revoke", ProductStatus.REVOKED),
        (ProductStatus.SUSPENDED, "revoke", ProductStatus.REVOKED),
    ],
)
def test_each_decision_moves_the_state_and_shows_the_reason(console, submit, regulator, before, verb, after):
    product = submit()
    if before != ProductStatus.SUBMITTED:
        services.product_approve(product=product, by=regulator, reason="Registered.")
    if before == ProductStatus.SUSPENDED:
        services.product_suspend(product=product, by=regulator, reason="Complaint under investigation.")
    reason = f"Decision {verb}: the merchant reads <this>."
    assert f"decide/{verb}/" in console.get(_url("dataproduct_change", product.pk)).content.decode()

    assert _decide(console, product, verb, "").status_code == 200
    assert DataProduct.objects.get(pk=product.pk).status == before
    assert _decide(console, product, verb, reason).status_code == 302

    product.refresh_from_db()
    assert product.status == after and product.status_reason == reason
    assert AuditEvent.objects.filter(action=f"dataproduct.{after}", data__reason=reason).exists()
    page = console.get(_url("dataproduct_change", product.pk)).content.decode()
    assert "the merchant reads &lt;this&gt;." in page


def test_a_decision_that_does_not_apply_is_refused_with_a_message(console, registered):
    response = _decide(console, registered, "approve", REASON)
    assert response.status_code == 200 and "not allowed" in response.content.decode()
    assert DataProduct.objects.get(pk=registered.pk).status == ProductStatus.REGISTERED


def test_bulk_request_changes_asks_for_one_reason_for_all(console, submit):
    products = [submit(), submit()]
    data = {"action": "decide_request_changes", "_selected_action": [p.pk for p in products]}
    ask = console.post(_url("dataproduct_changelist"), data)
    assert ask.status_code == 200 and 'name="reason"' in ask.content.decode()
    assert console.post(_url("dataproduct_changelist"), {**data, "reason": "Add the consent forms."}).status_code == 302
    statuses = set(DataProduct.objects.filter(pk__in=[p.pk for p in products]).values_list("status", flat=True))
    assert statuses == {ProductStatus.CHANGES_REQUESTED}


# --- change registration -------------------------------------------------------------------------------------------


@pytest.fixture
def new_version(registered, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        version = upload_version(registered, CSV + "2026-11-21,青岛港,集装箱,1021,张伟,13812340021\n".encode())
    return services.version_submit(version=version, by=owner_of(registered.organization))


def test_change_registration_queue_and_page(console, new_version, submit):
    first_registration = submit(title="Waiting for its first registration")
    listing = console.get(_url("productversion_changelist")).content.decode()
    assert f"{new_version.product.title} v2" in listing and first_registration.title not in listing
    page = console.get(_url("productversion_change", new_version.pk)).content.decode()
    assert "decide/approve/" in page and "decide/reject/" in page
    assert "Mobile phone number" in page and MASKED_MOBILE in page and RAW_MOBILE not in page
    assert "13812340021" not in page and "138****0021" in page
    assert "core-data" in page  # the negative list evaluated for this version


def test_change_registration_approve_issues_a_new_certificate(console, new_version):
    old = RegistrationCertificate.objects.get(product=new_version.product)
    url = _url("productversion_decide", new_version.pk, "approve")
    assert console.post(url, {"reason": ""}).status_code == 200
    assert console.post(url, {"reason": "Same schema, one more day."}).status_code == 302
    new_version.refresh_from_db()
    assert new_version.status == VersionStatus.REGISTERED
    current = RegistrationCertificate.objects.current().get(product=new_version.product)
    assert current.version == new_version and current.pk != old.pk
    assert services.certificate_verify(current.number)["valid"] and not services.certificate_verify(old.number)["valid"]


def test_change_registration_reject_keeps_the_registered_version(console, new_version):
    url = _url("productversion_decide", new_version.pk, "reject")
    assert console.post(url, {"reason": "The new rows are not de-identified."}).status_code == 302
    new_version.refresh_from_db()
    assert new_version.status == VersionStatus.REJECTED
    assert AuditEvent.objects.filter(action="productversion.rejected", object_id=str(new_version.pk)).exists()
    assert ProductVersion.objects.get(product=new_version.product, number=1).status == VersionStatus.REGISTERED


def test_the_version_of_a_first_registration_is_decided_on_the_product(console, submit):
    version = submit().versions.get()
    url = _url("productversion_decide", version.pk, "reject")
    response = console.post(url, {"reason": "Wrong queue."})
    assert response.status_code == 200 and "not awaiting change registration" in response.content.decode()
    assert ProductVersion.objects.get(pk=version.pk).status == VersionStatus.SUBMITTED


# --- negative-list rules -------------------------------------------------------------------------------------------


def _rule_form(**overrides) -> dict:
    return {
        "code": "no-health-ids",
        "name": "No identity numbers in health data",
        "message": "Health data with identity numbers cannot be traded.",
        "sector": "healthcare",
        "column_pattern": r"^(id|身份证)",
        "pii_kind": "id_number",
        "active": "on",
        **overrides,
    }


def test_custom_rule_with_an_invalid_regex_is_refused_with_a_clear_error(console):
    response = console.post(_url("negativelistrule_add"), _rule_form(column_pattern="([a-z"))
    assert response.status_code == 200
    assert "This is not a valid regular expression" in response.content.decode()
    assert not NegativeListRule.objects.filter(code="no-health-ids").exists()


def test_custom_rule_needs_a_criterion_and_a_known_pii_kind(console):
    empty = console.post(_url("negativelistrule_add"), _rule_form(sector="", column_pattern="", pii_kind=""))
    assert "Set a sector, a column name pattern" in empty.content.decode()
    unknown = console.post(_url("negativelistrule_add"), _rule_form(pii_kind="passport"))
    assert unknown.status_code == 200 and "Select a valid choice" in unknown.content.decode()
    assert not NegativeListRule.objects.filter(code="no-health-ids").exists()


def test_rule_create_change_and_delete_are_audited(console, regulator):
    assert console.post(_url("negativelistrule_add"), _rule_form()).status_code == 302
    rule = NegativeListRule.objects.get(code="no-health-ids")
    assert rule.kind == "custom"
    created = AuditEvent.objects.get(action="negativelistrule.created", object_id=str(rule.pk))
    assert created.actor_id == str(regulator.pk) and created.data["column_pattern"] == r"^(id|身份证)"

    response = console.post(_url("negativelistrule_change", rule.pk), _rule_form(active=""))
    assert response.status_code == 302
    changed = AuditEvent.objects.get(action="negativelistrule.changed", object_id=str(rule.pk))
    assert changed.data["changes"] == {"active": [True, False]}

    assert console.post(_url("negativelistrule_delete", rule.pk), {"post": "yes"}).status_code == 302
    assert not NegativeListRule.objects.filter(pk=rule.pk).exists()
    deleted = AuditEvent.objects.get(action="negativelistrule.deleted", object_id=str(rule.pk))
    assert deleted.data["code"] == "no-health-ids"


def test_builtin_rule_takes_only_a_new_name_and_message_and_cannot_be_deleted(console):
    rule = NegativeListRule.objects.get(code="core-data")
    page = console.get(_url("negativelistrule_change", rule.pk)).content.decode()
    assert 'name="message"' in page and 'name="column_pattern"' not in page and 'name="code"' not in page
    data = {"name": "Core data is never traded", "message": "Core data stays off the exchange.", "column_pattern": "x"}
    assert console.post(_url("negativelistrule_change", rule.pk), data).status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.message, rule.column_pattern, rule.kind) == (data["name"], data["message"], "", "core_data")
    assert AuditEvent.objects.filter(action="negativelistrule.changed", object_id=str(rule.pk)).exists()

    assert console.post(_url("negativelistrule_delete", rule.pk), {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", "_selected_action": [rule.pk], "post": "yes"}
    assert console.post(_url("negativelistrule_changelist"), bulk).status_code == 403
    assert NegativeListRule.objects.filter(pk=rule.pk).exists()


# --- certificates --------------------------------------------------------------------------------------------------


def test_certificates_are_listed_and_verified_on_their_page(console, registered, regulator):
    certificate = RegistrationCertificate.objects.get(product=registered)
    listing = console.get(_url("registrationcertificate_changelist")).content.decode()
    assert certificate.number in listing and "Verify now" in listing
    page = console.get(_url("registrationcertificate_change", certificate.pk)).content.decode()
    assert "<strong>Valid</strong>" in page and certificate.fingerprint in page
    services.product_revoke(product=registered, by=regulator, reason="Licence withdrawn.")
    page = console.get(_url("registrationcertificate_change", certificate.pk)).content.decode()
    assert "<strong>Not valid</strong>" in page
    assert console.post(_url("registrationcertificate_delete", certificate.pk), {"post": "yes"}).status_code == 403
