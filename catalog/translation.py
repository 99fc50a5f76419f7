"""Menu text per language (django-modeltranslation): each field below gets a column per
language in settings.LANGUAGES (`name_ind`, `name_en`, ...).

`name_ind` (modeltranslation spells the `id` column `ind`; MODELTRANSLATION_DEFAULT_LANGUAGE) is the text of record: required, what the
menu is sorted by, what a write without a language (`name`) sets in `catalog.services`.
Reading `product.name` gives the active language's column, or `name_ind` when that one is
empty (MODELTRANSLATION_FALLBACK_LANGUAGES). The original `name`/`description` columns are
no longer written by the shop: never read them directly (a raw `values()` must read the
language columns and apply the same fallback, see `catalog.i18n`).
"""

from modeltranslation.translator import TranslationOptions, register

from catalog.models import Category, Option, OptionGroup, Product


@register(Product)
class ProductTranslation(TranslationOptions):
    fields = ("name", "description")
    required_languages = {"id": ("name",)}


@register(Category)
class CategoryTranslation(TranslationOptions):
    fields = ("name",)
    required_languages = ("id",)


@register(OptionGroup)
class OptionGroupTranslation(TranslationOptions):
    fields = ("name",)
    required_languages = ("id",)


@register(Option)
class OptionTranslation(TranslationOptions):
    fields = ("name",)
    required_languages = ("id",)
