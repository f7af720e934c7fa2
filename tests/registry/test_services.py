import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage

from accounts.choices import Role, VerificationStatus
from audit.models import AuditEvent
from audit.services import ledger_verify
from core.errors import DomainError, InvalidTransition, OrganizationNotVerified, PermissionDeniedError
from registry import services
from registry.choices import Classification, ProductStatus
from registry.models import (
    DataProduct,
    NegativeListRule,
    ProductVersion,
    ProfileStatus,
    RegistrationCertificate,
    VersionStatus,
)
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.registry import CSV, DataProductFactory, csv_upload, upload_version
from tests.registry.encodings import ACCEPTED, REFUSED, invalid_after_the_sample

pytestmark = pytest.mark.django_db

CLEAN_CSV = ("date,port,tons\n" + "".join(f"2026-11-{d:02d},Qingdao,{1000 + d}\n" for d in range(1, 11))).encode()
# two of the ten dates are not dates, one port breaks the pattern
BAD_DATES_CSV = (
    CLEAN_CSV.replace(b"2026-11-03", b"2026-11-31")
    .replace(b"2026-11-07", b"soon")
    .replace(b"2026-11-09,Qingdao", b"2026-11-09,qingdao")
)


def stored_files(product) -> list[str]:
    """Every file stored for the product's versions."""
    folder = f"private/products/{product.organization_id}/{product.pk}"
    if not default_storage.exists(folder):
        return []
    return [
        f"{d}/{name}"
        for d in default_storage.listdir(folder)[0]
        for name in default_storage.listdir(f"{folder}/{d}")[1]
    ]


@pytest.fixture
def regulator():
    return owner_of(OrganizationFactory(kind="regulator"))


@pytest.fixture
def uploaded(django_capture_on_commit_callbacks):
    def make(product, content=CLEAN_CSV, name="port.csv"):
        with django_capture_on_commit_callbacks(execute=True):
            version = upload_version(product, content, name)
        return ProductVersion.objects.get(pk=version.pk)

    return make


@pytest.fixture
def submitted(uploaded):
    product = DataProductFactory()
    uploaded(product)
    return services.product_submit(product=product, by=owner_of(product.organization))


class TestProducts:
    def test_create_grants_the_organisation_and_audits(self):
        product = DataProductFactory(tags=["港口", " Logistics ", "logistics"])
        owner = owner_of(product.organization)
        assert DataProduct.objects.restrict(owner).get() == product
        assert sorted(product.tags.values_list("name", flat=True)) == ["logistics", "港口"]
        assert AuditEvent.objects.for_object(product).filter(action="dataproduct.created").exists()

    def test_other_organisations_cannot_see_drafts(self, other_org):
        DataProductFactory()
        assert not DataProduct.objects.restrict(owner_of(other_org)).exists()

    def test_unknown_sector_and_bad_coverage_are_field_errors(self, org):
        with pytest.raises(ValidationError) as exc:
            DataProductFactory(organization=org, sector="mining")
        assert "sector" in exc.value.message_dict
        import datetime

        with pytest.raises(ValidationError) as exc:
            DataProductFactory(
                organization=org, coverage_start=datetime.date(2026, 1, 2), coverage_end=datetime.date(2026, 1, 1)
            )
        assert "coverage_end" in exc.value.message_dict
        assert not DataProduct.objects.exists()

    def test_other_acquisition_needs_an_explanation(self, org):
        with pytest.raises(ValidationError) as exc:
            DataProductFactory(organization=org, acquisition_method="other", acquisition_note="")
        assert "acquisition_note" in exc.value.message_dict

    def test_viewer_cannot_create_or_edit(self, org):
        viewer = member(org, Role.VIEWER)
        with pytest.raises(PermissionDeniedError):
            services.product_create(organization=org, by=viewer, title="x")
        product = DataProductFactory(organization=org)
        with pytest.raises(PermissionDeniedError):
            services.product_update(product=product, by=viewer, title="y")

    def test_unverified_organisation_drafts_but_cannot_submit(self, uploaded):
        org = OrganizationFactory(status=VerificationStatus.PENDING)
        product = DataProductFactory(organization=org)
        uploaded(product)
        with pytest.raises(OrganizationNotVerified):
            services.product_submit(product=product, by=owner_of(org))
        assert DataProduct.objects.get(pk=product.pk).status == ProductStatus.DRAFT


class TestUpload:
    def test_upload_streams_hashes_and_profiles(self, uploaded):
        import hashlib

        product = DataProductFactory()
        version = uploaded(product, CSV)
        assert version.sha256 == hashlib.sha256(CSV).hexdigest()
        assert version.size == len(CSV)
        assert version.profile_status == ProfileStatus.DONE and version.row_count == 20
        assert {f["kind"] for f in version.pii_findings} == {"person_name", "mobile"}
        assert version.masked_sample[0]["手机"] == "138****0001"
        assert "sample_rows" not in version.profile
        assert "13812340001" not in str(version.profile) + str(version.masked_sample)

    def test_gbk_file_is_read_correctly(self, uploaded):
        product = DataProductFactory()
        version = uploaded(product, CLEAN_CSV.decode().replace("Qingdao", "青岛").encode("gbk"))
        assert version.encoding.lower() in {"gbk", "gb18030"}
        assert version.masked_sample[0]["port"] == "青岛"

    @pytest.mark.parametrize("case", sorted(ACCEPTED))
    def test_accepted_encodings_are_read_correctly(self, uploaded, case):
        content, codec = ACCEPTED[case]
        version = uploaded(DataProductFactory(), content)
        assert version.encoding == codec
        assert [column["name"] for column in version.columns] == ["日期", "港口"]
        assert version.masked_sample[0] == {"日期": "2026-11-01", "港口": "青岛"}

    @pytest.mark.parametrize("case", sorted(REFUSED))
    def test_wrong_encoding_is_refused_before_storing(self, case):
        content, looks_like = REFUSED[case]
        product = DataProductFactory()
        with pytest.raises(ValidationError) as exc:
            services.version_upload(
                product=product, by=owner_of(product.organization), upload=csv_upload(content, "port.csv")
            )
        error = exc.value.error_dict["file"][0]
        assert error.code == "encoding"
        message = exc.value.message_dict["file"][0]
        assert looks_like in message and "save the file as UTF-8" in message
        assert not ProductVersion.objects.exists()
        assert stored_files(product) == []
        assert not AuditEvent.objects.filter(action="productversion.uploaded").exists()

    @pytest.mark.parametrize(
        ("content", "name", "code"),
        [
            (b"", "empty.csv", "empty"),
            (b"\x00\x01\x02binary\x00", "data.csv", "binary"),
            (b"a,b\n1,2\n", "C:\\data.csv", "file_name"),
            (b"a,b\n1,2\n", "data.exe", "file_type"),
        ],
    )
    def test_bad_files_are_refused_before_storing(self, content, name, code):
        product = DataProductFactory()
        with pytest.raises(ValidationError) as exc:
            services.version_upload(
                product=product, by=owner_of(product.organization), upload=csv_upload(content, name)
            )
        assert exc.value.error_dict["file"][0].code == code
        assert not ProductVersion.objects.exists()

    def test_path_parts_never_reach_storage(self):
        # Django's upload handling keeps only the base name; the version is stored under its own product folder.
        product = DataProductFactory()
        upload = csv_upload(CLEAN_CSV, "../../etc/port.csv")
        version = services.version_upload(product=product, by=owner_of(product.organization), upload=upload)
        assert version.original_name == "port.csv"
        assert version.file.name == f"private/products/{product.organization_id}/{product.pk}/v1/port.csv"

    def test_size_limit(self, settings):
        settings.REGISTRY_MAX_UPLOAD_BYTES = 10
        product = DataProductFactory()
        with pytest.raises(ValidationError, match="larger than the limit"):
            services.version_upload(product=product, by=owner_of(product.organization), upload=csv_upload(CLEAN_CSV))
        assert not ProductVersion.objects.exists()

    @pytest.mark.parametrize(
        ("content", "code", "line"),
        [
            (b"a,b\n", "no_rows", None),
            (b"a,b\n1,2\n3,4\n5,6,7\n8,9\n", "malformed", 4),
            # the upload check and the profiler judge the first 4 MiB; bytes past them break UTF-8
            (invalid_after_the_sample(), "encoding", None),
        ],
        ids=["header_only", "ragged", "encoding_past_the_sample"],
    )
    def test_unusable_files_leave_no_version_or_file(self, uploaded, content, code, line):
        product = DataProductFactory()
        with pytest.raises(ProductVersion.DoesNotExist):
            uploaded(product, content)
        product.refresh_from_db()
        assert product.upload_error["code"] == code
        assert product.upload_error["line"] == line
        assert not ProductVersion.objects.exists()
        assert not default_storage.exists(f"private/products/{product.organization_id}/{product.pk}/v1/port.csv")
        assert stored_files(product) == []

    def test_storage_is_cleaned_when_the_database_write_fails(self, monkeypatch):
        product = DataProductFactory()

        def boom(**kwargs):
            raise RuntimeError("audit down")

        monkeypatch.setattr(services, "audit_record", boom)
        with pytest.raises(RuntimeError):
            services.version_upload(product=product, by=owner_of(product.organization), upload=csv_upload(CLEAN_CSV))
        assert not default_storage.exists(f"private/products/{product.organization_id}/{product.pk}/v1/port.csv")
        assert not ProductVersion.objects.exists()


class TestSubmissionAndReview:
    def test_submit_needs_a_profiled_version(self):
        product = DataProductFactory()
        with pytest.raises(DomainError) as exc:
            services.product_submit(product=product, by=owner_of(product.organization))
        assert exc.value.code == "no_version"

    def test_submit_needs_rights_and_legal_basis(self, uploaded):
        product = DataProductFactory(right_holding=False, right_processing=False, right_operation=False, legal_basis="")
        uploaded(product)
        with pytest.raises(ValidationError) as exc:
            services.product_submit(product=product, by=owner_of(product.organization))
        assert {"right_holding", "legal_basis"} <= set(exc.value.message_dict)

    def test_second_submit_is_a_clear_error(self, submitted):
        with pytest.raises(DomainError) as exc:
            services.product_submit(product=submitted, by=owner_of(submitted.organization))
        assert exc.value.code == "already_submitted"

    def test_edit_is_blocked_while_under_review(self, submitted):
        with pytest.raises(services.ProductNotEditable):
            services.product_update(product=submitted, by=owner_of(submitted.organization), title="Sneaky")

    def test_approve_registers_and_issues_a_certificate(self, submitted, regulator):
        cert = services.product_approve(product=submitted, by=regulator, reason="Complete and lawful.")
        product = DataProduct.objects.get(pk=submitted.pk)
        assert product.status == ProductStatus.REGISTERED and product.registered_at
        assert product.versions.get().status == VersionStatus.REGISTERED
        assert cert.number.startswith("DB-") and len(cert.fingerprint) == 64
        assert services.certificate_verify(cert.number)["valid"]

    @pytest.mark.parametrize(
        ("decide", "status", "version_status"),
        [
            (services.product_request_changes, ProductStatus.CHANGES_REQUESTED, VersionStatus.DRAFT),
            (services.product_reject, ProductStatus.REJECTED, VersionStatus.REJECTED),
        ],
    )
    def test_other_decisions(self, submitted, regulator, decide, status, version_status):
        product = decide(product=submitted, by=regulator, reason="Licence contract missing.")
        assert product.status == status and product.status_reason == "Licence contract missing."
        assert product.versions.get().status == version_status

    def test_changes_requested_can_be_edited_and_resubmitted(self, submitted, regulator):
        services.product_request_changes(product=submitted, by=regulator, reason="Add the legal basis document.")
        owner = owner_of(submitted.organization)
        services.product_update(product=submitted, by=owner, description="With the contract attached.")
        assert services.product_submit(product=submitted, by=owner).status == ProductStatus.SUBMITTED

    def test_suspend_reinstate_revoke(self, submitted, regulator):
        services.product_approve(product=submitted, by=regulator, reason="ok")
        assert services.product_suspend(product=submitted, by=regulator, reason="Complaint").status == "suspended"
        assert services.product_reinstate(product=submitted, by=regulator, reason="Cleared").status == "registered"
        assert services.product_revoke(product=submitted, by=regulator, reason="Unlawful source").status == "revoked"
        with pytest.raises(InvalidTransition):
            services.product_reinstate(product=submitted, by=regulator, reason="again")

    def test_decisions_need_a_regulator_and_a_reason(self, submitted, regulator):
        with pytest.raises(PermissionDeniedError):
            services.product_approve(product=submitted, by=owner_of(submitted.organization), reason="self")
        with pytest.raises(ValidationError):
            services.product_approve(product=submitted, by=regulator, reason=" ")
        assert DataProduct.objects.get(pk=submitted.pk).status == ProductStatus.SUBMITTED

    def test_every_transition_is_audited(self, submitted, regulator):
        services.product_approve(product=submitted, by=regulator, reason="ok")
        actions = list(AuditEvent.objects.for_object(submitted).order_by("sequence").values_list("action", flat=True))
        assert actions == ["dataproduct.created", "dataproduct.submitted", "dataproduct.registered"]
        assert ledger_verify().ok


class TestNegativeList:
    def test_core_data_cannot_be_submitted(self, uploaded):
        product = DataProductFactory(classification=Classification.CORE)
        uploaded(product)
        with pytest.raises(services.NegativeListViolation) as exc:
            services.product_submit(product=product, by=owner_of(product.organization))
        assert [r.code for r in exc.value.results] == ["core-data"]

    def test_pii_without_deidentification_is_refused_then_accepted(self, uploaded):
        product = DataProductFactory()
        uploaded(product, CSV)
        owner = owner_of(product.organization)
        with pytest.raises(services.NegativeListViolation) as exc:
            services.product_submit(product=product, by=owner)
        assert [r.code for r in exc.value.results] == ["pii-not-deidentified"]
        services.product_update(
            product=product,
            by=owner,
            has_personal_info=True,
            deidentification_note="Names and phone numbers pseudonymised.",
        )
        assert services.product_submit(product=product, by=owner).status == ProductStatus.SUBMITTED

    def test_level4_passes_with_a_sandbox_restriction(self, uploaded):
        product = DataProductFactory(sensitivity_level=4)
        uploaded(product)
        product = services.product_submit(product=product, by=owner_of(product.organization))
        outcome = {r["code"]: r["outcome"] for r in product.rule_results}
        assert outcome["level4-sandbox-only"] == "restrict"
        assert product.sandbox_only

    def test_custom_rule_by_sector_alone(self, uploaded):
        NegativeListRule.objects.create(
            code="no-healthcare", name="No healthcare data yet", message="Healthcare data waits for the new rules.",
            sector="healthcare",
        )  # fmt: skip
        other = DataProductFactory(sector="marine")
        uploaded(other)
        assert services.product_submit(product=other, by=owner_of(other.organization)).status == "submitted"

        product = DataProductFactory(sector="healthcare")
        uploaded(product)
        with pytest.raises(services.NegativeListViolation) as exc:
            services.product_submit(product=product, by=owner_of(product.organization))
        assert [(r.code, r.name) for r in exc.value.results] == [("no-healthcare", "No healthcare data yet")]
        assert "Healthcare data waits for the new rules." in str(exc.value.message)
        assert DataProduct.objects.get(pk=product.pk).status == ProductStatus.DRAFT

    def test_custom_rule_by_pii_kind_alone(self, uploaded):
        NegativeListRule.objects.create(
            code="no-mobiles", name="No mobile numbers", message="Mobile numbers are not traded, even masked.",
            pii_kind="mobile",
        )  # fmt: skip
        clean = DataProductFactory()
        uploaded(clean)  # no personal information in the file
        assert services.product_submit(product=clean, by=owner_of(clean.organization)).status == "submitted"

        deidentified = {"has_personal_info": True, "deidentification_note": "Masked to 138****0001."}
        product = DataProductFactory(**deidentified)
        uploaded(product, CSV)  # names and mobile numbers, in any sector
        with pytest.raises(services.NegativeListViolation) as exc:
            services.product_submit(product=product, by=owner_of(product.organization))
        assert [r.code for r in exc.value.results] == ["no-mobiles"]  # the built-in PII rule passes
        assert DataProduct.objects.get(pk=product.pk).status == ProductStatus.DRAFT

    def test_inactive_custom_rule_is_not_checked(self, uploaded):
        NegativeListRule.objects.create(code="off", name="Off", message="m", sector="marine", active=False)
        product = DataProductFactory(sector="marine")
        uploaded(product)
        product = services.product_submit(product=product, by=owner_of(product.organization))
        assert "off" not in {r["code"] for r in product.rule_results}


class TestColumnRules:
    RULES = {"date": {"type": "date"}, "port": {"type": "text", "pattern": "[A-Z][a-z]+"}}

    def test_declared_columns_with_bad_values_lower_validity_and_are_named(self, uploaded):
        product = DataProductFactory(column_rules=self.RULES)
        version = uploaded(product, BAD_DATES_CSV)
        columns = {column["name"]: column for column in version.columns}
        assert (columns["date"]["declared_type"], columns["date"]["invalid_count"]) == ("date", 2)
        assert (columns["port"]["pattern"], columns["port"]["invalid_count"]) == ("[A-Z][a-z]+", 1)
        assert columns["tons"]["invalid_count"] == 0  # undeclared: valid
        assert version.quality["validity"] == 90.0  # 30 values, 3 do not fit
        assert version.quality_score < 100
        assert version.profile["column_rules"] == {**self.RULES, "date": {"type": "date", "pattern": ""}}

    def test_without_rules_validity_is_100(self, uploaded):
        version = uploaded(DataProductFactory(), BAD_DATES_CSV)
        assert version.quality["validity"] == 100.0
        assert version.profile["column_rules"] == {}

    def test_rules_are_normalised(self):
        product = DataProductFactory(
            column_rules={" day ": {"type": "Timestamp"}, "code": {"type": "text", "pattern": r"\d{4}"}}
        )
        assert product.column_rules == {
            "day": {"type": "datetime", "pattern": ""},
            "code": {"type": "text", "pattern": r"\d{4}"},
        }

    @pytest.mark.parametrize(
        ("rules", "named"),
        [
            ({"amount": {"type": "money"}}, "amount"),
            ({"amount": {}}, "amount"),
            ({"code": {"type": "text", "pattern": "(?=AB)\\d+"}}, "code"),  # look-ahead: not in RE2
            ({"code": {"type": "text", "pattern": "[A-Z"}}, "code"),
            ({"code": {"type": "text", "pattern": "x" * 301}}, "code"),
            ({"code": {"type": "text", "colour": "red"}}, "code"),
            ({"code": "text"}, "code"),
            ({"   ": {"type": "text"}}, "“”"),
            ({"a\tb": {"type": "text"}}, "a\tb"),
            ({f"c{i}": {"type": "text"} for i in range(201)}, "200"),
            (["date", "date"], "object"),
        ],
    )
    def test_bad_rules_are_field_errors(self, org, rules, named):
        with pytest.raises(ValidationError) as exc:
            DataProductFactory(organization=org, column_rules=rules)
        messages = exc.value.message_dict["column_rules"]
        assert any(named in message for message in messages), messages
        assert not DataProduct.objects.exists()

    def test_every_bad_column_is_named(self, org):
        with pytest.raises(ValidationError) as exc:
            DataProductFactory(
                organization=org, column_rules={"a": {"type": "x"}, "b": {"type": "text", "pattern": "("}}
            )
        messages = exc.value.message_dict["column_rules"]
        assert len(messages) == 2 and "“a”" in messages[0] and "“b”" in messages[1]

    def test_profiled_versions_keep_their_scores_and_new_uploads_use_the_rules(self, uploaded):
        product = DataProductFactory()
        first = uploaded(product, BAD_DATES_CSV)
        owner = owner_of(product.organization)
        services.product_update(product=product, by=owner, column_rules=self.RULES)
        event = AuditEvent.objects.for_object(product).filter(action="dataproduct.updated").get()
        assert event.data["fields"] == ["column_rules"]

        second = uploaded(DataProduct.objects.get(pk=product.pk), BAD_DATES_CSV)

        assert ProductVersion.objects.get(pk=first.pk).quality["validity"] == 100.0
        assert second.quality["validity"] == 90.0

    def test_omitted_rules_stay_and_registered_rules_are_frozen(self, submitted, regulator):
        owner = owner_of(submitted.organization)
        services.product_request_changes(product=submitted, by=regulator, reason="Declare the date column.")
        services.product_update(product=submitted, by=owner, column_rules={"date": {"type": "date"}})
        services.product_update(product=submitted, by=owner, summary="Same rules.")
        assert DataProduct.objects.get(pk=submitted.pk).column_rules == {"date": {"type": "date", "pattern": ""}}
        services.product_submit(product=submitted, by=owner)
        services.product_approve(product=submitted, by=regulator, reason="ok")
        with pytest.raises(services.ProductNotEditable):
            services.product_update(product=submitted, by=owner, column_rules={})

    def test_rules_are_not_part_of_the_certificate(self, submitted, regulator):
        cert = services.product_approve(product=submitted, by=regulator, reason="ok")
        assert "column_rules" not in cert.payload  # certificates issued before the rules existed still verify


class TestChangeRegistration:
    def test_new_version_of_a_registered_product(self, submitted, regulator, uploaded):
        first = services.product_approve(product=submitted, by=regulator, reason="ok")
        owner = owner_of(submitted.organization)
        v2 = uploaded(DataProduct.objects.get(pk=submitted.pk), CLEAN_CSV + b"2026-11-30,Qingdao,2000\n")
        assert v2.status == VersionStatus.DRAFT
        assert list(ProductVersion.objects.registered().filter(product=submitted)) == [submitted.versions.get(number=1)]
        services.version_submit(version=v2, by=owner)
        second = services.version_approve(version=v2, by=regulator, reason="Same schema, newer data.")
        first.refresh_from_db()
        assert first.superseded_at is not None and second.superseded_at is None
        assert not services.certificate_verify(first.number)["valid"]
        assert services.certificate_verify(second.number)["valid"]
        assert [v["number"] for v in second.payload["versions"]] == [1, 2]

    def test_approving_a_change_calls_the_change_hooks_rejecting_does_not(self, submitted, regulator, uploaded,
                                                                          monkeypatch):  # fmt: skip
        calls, hooks = [], []
        monkeypatch.setattr(services, "CHANGE_HOOKS", hooks)  # without the marketplace's
        hook = services.on_product_changed(lambda **kwargs: calls.append(kwargs))
        assert services.on_product_changed(hook) is hook and hooks == [hook]  # registered once
        services.product_approve(product=submitted, by=regulator, reason="ok")
        assert calls == []  # a first registration is not a change
        owner = owner_of(submitted.organization)
        for number, decide in ((2, services.version_reject), (3, services.version_approve)):
            content = CLEAN_CSV + f"2026-12-0{number},Qingdao,2000\n".encode()
            version = uploaded(DataProduct.objects.get(pk=submitted.pk), content)
            services.version_submit(version=version, by=owner)
            decide(version=version, by=regulator, reason="Checked.")
        assert [(call["product"].pk, call["by"]) for call in calls] == [(submitted.pk, regulator)]
        assert calls[0]["product"].versions.registered().latest("number").number == 3

    def test_registered_versions_are_immutable_through_services(self, submitted, regulator):
        services.product_approve(product=submitted, by=regulator, reason="ok")
        with pytest.raises(services.ProductNotEditable):
            services.product_update(product=submitted, by=owner_of(submitted.organization), title="Renamed")


class TestCertificates:
    def test_tampering_with_metadata_or_digests_is_detected(self, submitted, regulator):
        cert = services.product_approve(product=submitted, by=regulator, reason="ok")
        DataProduct.objects.filter(pk=submitted.pk).update(title="Quietly renamed")
        result = services.certificate_verify(cert.number)
        assert result["record_intact"] and not result["content_matches"] and not result["valid"]
        DataProduct.objects.filter(pk=submitted.pk).update(title=cert.payload["title"])
        assert services.certificate_verify(cert.number)["valid"]
        ProductVersion.objects.filter(product=submitted).update(sha256="0" * 64)
        assert not services.certificate_verify(cert.number)["content_matches"]

    def test_tampering_with_the_certificate_record_is_detected(self, submitted, regulator):
        cert = services.product_approve(product=submitted, by=regulator, reason="ok")
        RegistrationCertificate.objects.filter(pk=cert.pk).update(payload={**cert.payload, "title": "Forged"})
        result = services.certificate_verify(cert.number)
        assert not result["record_intact"] and not result["valid"]

    def test_revoked_product_certificate_is_not_valid(self, submitted, regulator):
        cert = services.product_approve(product=submitted, by=regulator, reason="ok")
        services.product_revoke(product=submitted, by=regulator, reason="Unlawful")
        result = services.certificate_verify(cert.number)
        assert result["content_matches"] and not result["valid"]

    def test_unknown_number(self):
        with pytest.raises(DomainError) as exc:
            services.certificate_verify("DB-2026-999999")
        assert exc.value.code == "certificate_not_found"


class TestReviewFixes:
    def test_version_reject_only_for_change_registration(self, submitted, regulator):
        version = submitted.versions.get()
        with pytest.raises(DomainError) as exc:
            services.version_reject(version=version, by=regulator, reason="no")
        assert exc.value.code == "invalid_transition"
        services.product_approve(product=submitted, by=regulator, reason="ok")  # still possible afterwards

    def test_change_registration_keeps_reasons_and_rule_results(self, submitted, regulator, uploaded):
        services.product_approve(product=submitted, by=regulator, reason="ok")
        owner = owner_of(submitted.organization)
        v2 = uploaded(DataProduct.objects.get(pk=submitted.pk), CLEAN_CSV + b"2026-11-30,Qingdao,2000\n")
        DataProduct.objects.filter(pk=submitted.pk).update(rule_results=[])
        services.version_submit(version=v2, by=owner)
        assert DataProduct.objects.get(pk=submitted.pk).rule_results
        services.version_reject(version=v2, by=regulator, reason="Schema changed without notice.")
        v2.refresh_from_db()
        assert v2.status == VersionStatus.REJECTED and v2.review_reason == "Schema changed without notice."

    def test_invalid_custom_rule_is_refused_and_never_breaks_submission(self, uploaded):
        from registry.models import NegativeListRule

        rule = NegativeListRule(code="bad", name="Bad", message="m", column_pattern="([")
        with pytest.raises(ValidationError) as exc:
            rule.full_clean()
        assert "column_pattern" in exc.value.message_dict
        rule.save()  # stored some other way
        product = DataProductFactory()
        uploaded(product)
        assert services.product_submit(product=product, by=owner_of(product.organization)).status == "submitted"

    def test_custom_rule_by_column_pattern(self, uploaded):
        from registry.models import NegativeListRule

        NegativeListRule.objects.create(
            code="no-tons",
            name="No tonnage",
            message="Tonnage is restricted.",
            column_pattern="^tons$",
            sector="marine",
        )
        product = DataProductFactory()
        uploaded(product)
        with pytest.raises(services.NegativeListViolation) as exc:
            services.product_submit(product=product, by=owner_of(product.organization))
        assert [r.code for r in exc.value.results] == ["no-tons"]

    def test_documents_must_be_office_or_image_files(self):
        from django.core.files.uploadedfile import SimpleUploadedFile

        product = DataProductFactory()
        owner = owner_of(product.organization)
        with pytest.raises(ValidationError):
            services.document_add(
                product=product, by=owner, title="x", file=SimpleUploadedFile("x.html", b"<script>alert(1)</script>")
            )
        doc = services.document_add(
            product=product, by=owner, title="Contract", file=SimpleUploadedFile("contract.pdf", b"%PDF-1.4")
        )
        assert doc.title == "Contract"


def test_rejected_file_error_never_stores_the_raw_row(django_capture_on_commit_callbacks):
    product = DataProductFactory()
    content = b"name,mobile\n" + b"".join(b"a,1\n" for _ in range(5)) + b"Zhang,13812345678,extra\n"
    with django_capture_on_commit_callbacks(execute=True):
        upload_version(product, content)
    product.refresh_from_db()
    assert product.upload_error["code"] == "malformed"
    stored = str(product.upload_error) + str(list(AuditEvent.objects.values_list("data", flat=True)))
    assert "13812345678" not in stored


def test_safe_message_cuts_the_original_line():
    from registry.tasks import safe_message

    message = "CSV Error on Line: 7\nOriginal Line: 张伟,13812345678\nExpected 2 columns"
    assert safe_message(message) == "CSV Error on Line: 7"
