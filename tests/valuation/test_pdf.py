# ruff: noqa: RUF001, RUF003 -- the typographic −, × and – are meant: reports print them

from decimal import Decimal

import pytest
from django.utils import translation

from core.pdf import markup, runs
from registry import services as registry_services
from tests.factories import OrganizationFactory
from tests.factories.accounts import owner_of
from tests.factories.registry import DataProductFactory, upload_version
from tests.factories.valuation import valuation_of
from tests.pdf import content, info, pages
from valuation import services
from valuation.models import Valuation
from valuation.pdf import report_pdf, valuation_pdf
from valuation.report import valuation_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def request(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            valuation = valuation_of(*args, **kwargs)
        return Valuation.objects.get(pk=valuation.pk)

    return request


def profiled(django_capture_on_commit_callbacks, **kwargs):
    product = DataProductFactory(**kwargs)
    with django_capture_on_commit_callbacks(execute=True):
        upload_version(product, b"date,tons\n" + b"".join(b"2026-11-%02d,%d\n" % (d, d) for d in range(1, 11)))
    return product


@pytest.fixture
def product(django_capture_on_commit_callbacks):
    return profiled(django_capture_on_commit_callbacks)


def market_inputs(count: int) -> dict:
    comparables = [
        {"price": str(100000 + n * 250), "quality": "1.05", "date": "0.98", "reference": f"Contract {n:03d}"}
        for n in range(count)
    ]
    return {"comparables": comparables}


def test_markup_switches_fonts_per_run():
    assert runs("Value −¥1") == [("Helvetica", "Value "), ("Symbol", "−"), ("Helvetica", "¥1")]
    assert markup("数据 <x>") == '<font face="STSong-Light">数据</font> &lt;x&gt;'


def test_cost_pdf(run, product):
    valuation = run(product, "cost")
    pdf = valuation_pdf(valuation)
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
    assert pages(pdf) >= 2
    assert info(pdf, "Title") == f"Valuation of {product.title}"
    assert info(pdf, "Author") == product.organization.name
    text = content(pdf)
    for expected in ("Databourse", "Self-assessment", "Replacement cost", "Disclaimer", "Page 1 of", "Base value"):
        assert expected in text
    assert "Amortisation schedule" in text and "Lending ceiling" in text


@pytest.mark.parametrize("method", ["income", "market", "composite"])
def test_every_method_renders(run, product, method):
    if method == "market":
        valuation = run(product, "market", market_inputs(4))
    elif method == "composite":
        cost, income = run(product, "cost"), run(product, "income")
        components = [{"valuation": cost.pk, "weight": "0.5"}, {"valuation": income.pk, "weight": "0.5"}]
        valuation = run(product, "composite", {"components": components})
    else:
        valuation = run(product, method)
    pdf = valuation_pdf(valuation)
    assert pdf.startswith(b"%PDF") and pages(pdf) >= 1
    assert valuation_report(valuation).method in content(pdf)


def test_accredited_pdf_says_so(run, product):
    owner = owner_of(product.organization)
    registry_services.product_submit(product=product, by=owner)
    registry_services.product_approve(product=product, by=owner_of(OrganizationFactory(kind="regulator")), reason="ok")
    appraiser = OrganizationFactory(can_appraise=True)
    text = content(valuation_pdf(run(product, organization=appraiser)))
    assert "Accredited appraisal" in text and "Self-assessment" not in text


def test_held_for_sale_pdf_has_no_schedule(run, product):
    text = content(valuation_pdf(run(product, "cost", holding_purpose="sale")))
    assert "Inventory" in text and "Amortisation schedule" not in text


def test_long_tables_split_across_pages_and_repeat_their_header(run, product):
    pdf = valuation_pdf(run(product, "market", market_inputs(90)))
    text = content(pdf)
    assert pages(pdf) >= 3
    assert "Contract 000" in text and "Contract 089" in text
    assert text.count("(Adjusted price)") >= 2  # the header row on every page the table spans


def test_pdf_in_chinese_uses_the_cid_font(run, django_capture_on_commit_callbacks):
    product = profiled(django_capture_on_commit_callbacks, title="青岛港集装箱吞吐量")
    valuation = run(product, "income", pledge_ratio="0.5")
    with translation.override("zh-hans"):
        pdf = valuation_pdf(valuation)
        title = valuation_report(valuation).title
    assert pdf.startswith(b"%PDF") and pages(pdf) >= 2
    assert b"/BaseFont /STSong-Light" in pdf
    assert b"/Lang (zh-hans)" in pdf
    assert info(pdf, "Title") == title and info(pdf, "Author") == product.organization.name


def test_invariant_output_is_repeatable(run, product):
    report = valuation_report(run(product, "cost"))
    assert report_pdf(report, invariant=True) == report_pdf(report, invariant=True)


def test_a_queued_valuation_has_no_pdf(product):
    with pytest.raises(services.ValuationNotDone):
        valuation_pdf(valuation_of(product, "cost"))


def test_negative_figures_render(run, product):
    inputs = {"variant": "incremental", "useful_life_years": 3, "discount_rate": "0.1"}
    inputs |= {"income_with_data": ["100", "100", "100"], "income_without_data": ["150", "50", "50"]}
    valuation = run(product, "income", inputs)
    assert valuation.status == "done", valuation.error
    assert Decimal(valuation.result["rows"][0]["income"]) < 0
    pdf = valuation_pdf(valuation)
    assert pdf.startswith(b"%PDF") and b"/BaseFont /Symbol" in pdf  # the minus sign
