from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cart import selectors, services
from cart.api.serializers import (
    CartItemAddSerializer,
    CartItemUpdateSerializer,
    CartSerializer,
    add_arguments_plain,
    cart_representation,
)
from cart.exceptions import CartLineLimit, CartProductLimit
from catalog.exceptions import ProductUnavailable
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
    body = cart_representation(lines=summary.lines, totals=totals.as_dict(), voucher=voucher)
    return Response(body, status=status_code)


RETURN_MINIMAL = "return=minimal"

PREFER_PARAMETER = OpenApiParameter(
    "Prefer",
    {"type": "string", "enum": [RETURN_MINIMAL, "return=representation"]},
    OpenApiParameter.HEADER,
    description="`return=minimal`: answer 204 with no body instead of the whole cart (RFC 7240); "
    "the default is the cart.",
)

PREFERENCE_APPLIED = OpenApiParameter(
    "Preference-Applied",
    {"type": "string", "enum": [RETURN_MINIMAL]},
    OpenApiParameter.HEADER,
    response=[204],
    description="`return=minimal`: the cart was not rendered, as asked with `Prefer`.",
)


def prefers_minimal(request: Request) -> bool:
    """Whether the request's `Prefer` header (RFC 7240: comma-separated preferences, each
    `token[=value]` and parameters after `;`, tokens case-insensitive, a value may be quoted)
    asks for `return=minimal`."""
    header = request.headers.get("Prefer")
    if not header:
        return False
    for preference in header.split(","):
        name, _, value = preference.split(";", 1)[0].partition("=")
        if name.strip().lower() == "return" and value.strip().strip('"').lower() == "minimal":
            return True
    return False


def minimal_response() -> Response:
    response = Response(status=status.HTTP_204_NO_CONTENT)
    response["Preference-Applied"] = RETURN_MINIMAL
    return response


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
        parameters=[PREFER_PARAMETER, PREFERENCE_APPLIED],
        responses={
            201: CartSerializer,
            204: OpenApiResponse(description="Added; the cart is not sent back (`Prefer: return=minimal`)."),
            404: OpenApiResponse(description="No such product on the menu (unknown or hidden)."),
            **domain_errors(ProductUnavailable, CartProductLimit, CartLineLimit),
        },
    )
    def create(self, request: Request) -> Response:
        arguments = add_arguments_plain(request.data)
        if arguments is None:
            data = CartItemAddSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            arguments = data.validated_data
        services.cart_add_item(user=request.user, **arguments)
        if prefers_minimal(request):
            return minimal_response()
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
