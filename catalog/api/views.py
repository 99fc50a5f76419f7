from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import selectors, services
from catalog.api.filters import ProductFilter
from catalog.api.serializers import (
    CategorySerializer,
    ProductPriceSerializer,
    ProductSerializer,
    ProductUpdateSerializer,
    ProductWriteSerializer,
)
from catalog.models import Product
from config.permissions import IsStaffOrReadOnly, is_staff


@extend_schema_view(destroy=extend_schema(description="Deactivates the category (it stays for history)."))
class CategoryViewSet(viewsets.ModelViewSet):
    """The menu's categories. Shoppers see the active ones; staff see and manage all."""

    serializer_class = CategorySerializer
    permission_classes = [IsStaffOrReadOnly]
    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]{1,100}"  # Category.slug; anything else is a 404
    filter_backends: list = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.category_list(include_hidden=is_staff(self.request))

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
    create=extend_schema(request=ProductWriteSerializer, responses={201: ProductSerializer}),
    partial_update=extend_schema(request=ProductUpdateSerializer, responses=ProductSerializer),
    destroy=extend_schema(description="Deactivates the product (kept for order history)."),
)
class ProductViewSet(viewsets.ModelViewSet):
    """The menu. Current price, availability and bundle components come in one go."""

    serializer_class = ProductSerializer
    permission_classes = [IsStaffOrReadOnly]
    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]{1,200}"  # Product.slug; anything else is a 404
    filterset_class = ProductFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.product_list(include_hidden=is_staff(self.request))

    def _reloaded(self, product: Product) -> dict:
        fresh = selectors.product_queryset().get(pk=product.pk)
        return ProductSerializer(fresh, context=self.get_serializer_context()).data

    def create(self, request: Request) -> Response:
        data = ProductWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = services.product_create(**data.validated_data)
        return Response(self._reloaded(product), status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, slug: str | None = None) -> Response:
        product = self.get_object()
        data = ProductUpdateSerializer(product, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        product = services.product_update(product=product, **data.validated_data)
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
    def prices(self, request: Request, slug: str | None = None) -> Response:
        products = selectors.product_list(include_hidden=is_staff(request)).prefetch_related(None)
        product = get_object_or_404(products, slug=slug)
        if request.method == "POST":
            data = ProductPriceSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            price = services.price_add(product=product, **data.validated_data)
            current = selectors.product_queryset().values_list("price_version", flat=True).get(pk=product.pk)
            body = ProductPriceSerializer(price, context={"current_version": current}).data
            return Response(body, status=status.HTTP_201_CREATED)
        history = selectors.price_history(product=product)
        context = {"current_version": product.price_version}
        return Response(ProductPriceSerializer(history, many=True, context=context).data)
