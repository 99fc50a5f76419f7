from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import selectors, services
from catalog.api.caching import catalog_cached, catalog_count
from catalog.api.filters import ProductFilter
from catalog.api.serializers import (
    CategorySerializer,
    ProductCreateSerializer,
    ProductPriceSerializer,
    ProductSerializer,
    ProductUpdateSerializer,
    SoldOutSerializer,
    StockAdjustSerializer,
)
from catalog.exceptions import StockChanged, StockWouldGoNegative
from catalog.models import Product
from catalog.options import with_option_groups
from catalog.sold_out import product_sold_out_end, product_sold_out_set
from catalog.stock import stock_adjust
from config.api.error_schema import domain_errors
from config.api.pagination import PageOrCursorPagination
from config.api.permissions import StaffPermissionOrReadOnly, staff_may


@extend_schema_view(destroy=extend_schema(description="Deactivates the category (it stays for history)."))
class CategoryViewSet(viewsets.ModelViewSet):
    """The menu's categories. Shoppers see the active ones; staff see and manage all."""

    serializer_class = CategorySerializer
    permission_classes = [StaffPermissionOrReadOnly]
    # The admin's permissions for the same changes; a deactivation is a change there too.
    write_permissions = {
        "create": "catalog.add_category",
        "partial_update": "catalog.change_category",
        "destroy": "catalog.change_category",
    }
    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]{1,100}"  # Category.slug; anything else is a 404
    filter_backends: list = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.category_list(include_hidden=staff_may(self.request, "catalog.view_category"))

    @catalog_cached
    def list(self, request: Request) -> Response:
        return super().list(request)

    @catalog_cached
    def retrieve(self, request: Request, slug: str | None = None) -> Response:
        return super().retrieve(request, slug=slug)

    def perform_create(self, serializer):
        serializer.instance = services.category_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.category_update(
            category=serializer.instance, **serializer.validated_data
        )

    def destroy(self, request: Request, slug: str | None = None) -> Response:
        services.category_deactivate(category=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    create=extend_schema(request=ProductCreateSerializer, responses={201: ProductSerializer}),
    partial_update=extend_schema(
        request=ProductUpdateSerializer,
        responses={
            200: ProductSerializer,
            **domain_errors(
                StockChanged, stock_changed="The stock is not `expected_stock` any more; nothing changed."
            ),
        },
    ),
    destroy=extend_schema(description="Deactivates the product (kept for order history)."),
)
class ProductViewSet(viewsets.ModelViewSet):
    """The menu. Current price, availability and bundle components come in one go."""

    serializer_class = ProductSerializer
    permission_classes = [StaffPermissionOrReadOnly]
    # The admin's permissions for the same changes: its product form edits the stock and
    # deactivates under change_product; a new price version is a ProductPrice row added.
    write_permissions = {
        "create": "catalog.add_product",
        "partial_update": "catalog.change_product",
        "destroy": "catalog.change_product",
        "stock": "catalog.change_product",
        "prices": "catalog.add_productprice",
        "sold_out": "catalog.set_sold_out",
    }
    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]{1,200}"  # Product.slug; anything else is a 404
    filterset_class = ProductFilter
    pagination_class = PageOrCursorPagination  # `?cursor=` for infinite scroll
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no database
            return Product.objects.none()
        return selectors.menu_products(include_hidden=staff_may(self.request, "catalog.view_product"))

    # Query parameters that are not filters: a request with no others skips the FilterSet,
    # whose construction (a deep copy of every declared filter) cost more than the queries.
    NOT_FILTERS = frozenset({"page", "page_size", "cursor", "format"})

    @catalog_cached
    def list(self, request: Request) -> Response:
        queryset = self.get_queryset()
        if set(request.query_params) - self.NOT_FILTERS:
            queryset = self.filter_queryset(queryset)
        queryset.known_count = catalog_count(request, queryset)
        page = with_option_groups(selectors.with_bundle_components(self.paginate_queryset(queryset)))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @catalog_cached
    def retrieve(self, request: Request, slug: str | None = None) -> Response:
        # A lookup by slug needs none of the list's filters.
        product = get_object_or_404(self.get_queryset(), slug=slug)
        product = with_option_groups(selectors.with_bundle_components([product]))[0]
        return Response(self.get_serializer(product).data)

    def _reloaded(self, product: Product) -> dict:
        fresh = with_option_groups([selectors.product_queryset().get(pk=product.pk)])[0]
        return ProductSerializer(fresh, context=self.get_serializer_context()).data

    def create(self, request: Request) -> Response:
        data = ProductCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "price" in data.validated_data and not staff_may(request, "catalog.add_productprice"):
            raise PermissionDenied(_("Setting the first price needs the permission to add prices."))
        product = services.product_create(user=request.user, **data.validated_data)
        return Response(self._reloaded(product), status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, slug: str | None = None) -> Response:
        product = self.get_object()
        data = ProductUpdateSerializer(product, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        components = fields.pop("components", None)
        stock, expected = fields.pop("stock", None), fields.pop("expected_stock", None)
        product = services.product_save(
            product=product,
            fields=fields,
            components=components,
            stock=stock,
            expected_stock=expected,
            user=request.user,
        )
        return Response(self._reloaded(product))

    @extend_schema(
        request=StockAdjustSerializer,
        responses={
            200: ProductSerializer,
            **domain_errors(StockWouldGoNegative),
        },
        description="Staff: add or remove units (a delivery, waste, a recount). A result below zero "
        "is 409 `stock_negative` and nothing changes. Every change is written to the stock ledger.",
    )
    @action(detail=True, methods=["post"], filterset_class=None, pagination_class=None)
    def stock(self, request: Request, slug: str | None = None) -> Response:
        product = self.get_object()
        data = StockAdjustSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = data.validated_data["reason"]
        if data.validated_data["note"]:
            note = f"{note}: {data.validated_data['note']}"
        stock_adjust(product=product, delta=data.validated_data["delta"], user=request.user, note=note)
        return Response(self._reloaded(product))

    @extend_schema(
        methods=["POST"],
        request=SoldOutSerializer,
        responses={
            200: ProductSerializer,
            400: OpenApiResponse(
                description="`until` not a date-time, in the past, or more than 30 days away."
            ),
            403: OpenApiResponse(description="Staff without catalog.set_sold_out."),
            404: OpenApiResponse(description="No such product (or one the caller may not see)."),
        },
        description="Staff: the dish is sold out (`unavailable_reason: sold_out`) until `until`, and comes "
        "back by itself then. A new mark replaces a running one.",
    )
    @extend_schema(
        methods=["DELETE"],
        request=None,
        responses={
            200: ProductSerializer,
            403: OpenApiResponse(description="Staff without catalog.set_sold_out."),
            404: OpenApiResponse(description="No such product (or one the caller may not see)."),
        },
        description="Staff: the dish is back now (nothing to end is not an error).",
    )
    @action(
        detail=True,
        methods=["post", "delete"],
        url_path="sold-out",
        filterset_class=None,
        pagination_class=None,
    )
    def sold_out(self, request: Request, slug: str | None = None) -> Response:
        product = self.get_object()
        if request.method == "DELETE":
            product_sold_out_end(product=product)
        else:
            data = SoldOutSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            product_sold_out_set(product=product, until=data.validated_data.get("until"))
        return Response(self._reloaded(product))

    def destroy(self, request: Request, slug: str | None = None) -> Response:
        services.product_deactivate(product=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["GET"],
        responses=ProductPriceSerializer(many=True),
        description="Price history, newest version first.",
        parameters=[OpenApiParameter("page", exclude=True), OpenApiParameter("page_size", exclude=True)],
    )
    @extend_schema(
        methods=["POST"],
        request=ProductPriceSerializer,
        responses={201: ProductPriceSerializer},
        description="Staff: add the next price version (valid now, or from a future time).",
    )
    @action(detail=True, methods=["get", "post"], filterset_class=None, pagination_class=None)
    @catalog_cached
    def prices(self, request: Request, slug: str | None = None) -> Response:
        hidden = staff_may(request, "catalog.view_product")
        product = get_object_or_404(selectors.menu_products(include_hidden=hidden), slug=slug)
        if request.method == "POST":
            data = ProductPriceSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            price = services.price_add(product=product, **data.validated_data)
            current = Product.objects.values_list("current_price_version", flat=True).get(pk=product.pk)
            body = ProductPriceSerializer(price, context={"current_version": current}).data
            return Response(body, status=status.HTTP_201_CREATED)
        history = selectors.price_history(product=product)
        context = {"current_version": product.current_price_version}
        return Response(ProductPriceSerializer(history, many=True, context=context).data)
