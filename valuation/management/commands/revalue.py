from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from registry.models import DataProduct
from valuation import services


class Command(BaseCommand):
    help = "Revalue an organisation's products with their latest valuation's method and inputs (quality refreshed)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("credit_code", help="The performing organisation's unified social credit code.")
        parser.add_argument("--sector", help="Only products of this sector.")

    def handle(self, *args, credit_code: str, sector: str | None, **options) -> None:
        organization = Organization.objects.filter(credit_code=credit_code.upper()).first()
        if organization is None:
            raise CommandError(f"No organisation has the credit code {credit_code}.")
        products = DataProduct.objects.filter(valuations__organization=organization).distinct().order_by("pk")
        if sector:
            products = products.filter(sector=sector)
        products = list(products)
        batch = services.revaluation_start(organization=organization, by=None, products=products, queue=False)
        for index, product in enumerate(products, start=1):
            valuation = services.revalue_product(batch=batch, product_id=product.pk)
            outcome = f"{valuation.get_status_display()} {valuation.value or ''}" if valuation else "skipped"
            self.stdout.write(
                f"[{index}/{len(products)} {100 * index // len(products):3d}%] {product.title}: {outcome}"
            )
        batch = services.revaluation_finish(batch_id=batch.pk)
        self.stdout.write(self.style.SUCCESS(f"{batch.completed} revalued, {batch.failed} failed."))
