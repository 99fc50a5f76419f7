from types import SimpleNamespace

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cart import selectors, services
from cart.api.serializers import CartItemAddSerializer, CartItemUpdateSerializer, CartSerializer
from cart.exceptions import CartLineLimit, CartProductLimit
from catalog.exceptions import ProductUnavailable
from catalog.services import menu_ensure_current
from config.api.error_schema import domain_errors
from orders.pricing import cart_totals
from orders.totals import Line


def cart_response(request: Request, status_code: int = status.HTTP_200_OK) -> Response:
    summary = selectors.cart_summary(user=request.user)
    lines = [
        Line(line.line_total, line.item.product.category.slug)
        for line in summary.lines
        if line.line_total is not None
    ]
    totals, voucher = cart_totals(user=request.user, lines=lines)
    body = SimpleNamespace(
        lines=summary.lines, item_count=summary.item_count, voucher=voucher, **totals.as_dict()
    )
    return Response(CartSerializer(body).data, status=status_code)


class CartView(APIView):
    """The shopper's cart with current prices, totals and per-line problems."""

    @extend_schema(responses=CartSerializer)
    def get(self, request: Request) -> Response:
        return cart_response(request)

    @extend_schema(responses={204: None})
    def delete(self, request: Request) -> Response:
        services.cart_clear(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CartItemViewSet(viewsets.ViewSet):
    """Lines of the shopper's own cart; another user's line is a 404."""

    # Ids beyond BIGINT would make the database raise; they are simply not found.
    lookup_value_regex = r"[0-9]{1,18}"

    @extend_schema(
        request=CartItemAddSerializer,
        responses={
            201: CartSerializer,
            404: OpenApiResponse(description="No such product on the menu (unknown or hidden)."),
            **domain_errors(ProductUnavailable, CartProductLimit, CartLineLimit),
        },
    )
    def create(self, request: Request) -> Response:
        menu_ensure_current()  # a price that has just come into force lists its product
        data = CartItemAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.cart_add_item(user=request.user, **data.validated_data)
        return cart_response(request, status.HTTP_201_CREATED)

    @extend_schema(
        request=CartItemUpdateSerializer,
        responses={
            200: CartSerializer,
            404: OpenApiResponse(description="Not a line of your cart."),
            **domain_errors(CartProductLimit),
        },
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        data = CartItemUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.cart_set_quantity(user=request.user, item_id=int(pk), **data.validated_data)
        return cart_response(request)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        services.cart_remove_item(user=request.user, item_id=int(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
