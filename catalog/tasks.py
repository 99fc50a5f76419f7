"""Background work of the catalog (config/tasks.py says how tasks are started and run)."""

from celery import shared_task

from catalog.services import prices_switch_due


@shared_task
def switch_due_prices() -> int:
    """Every minute: bring scheduled prices whose time has come into force (reads switch
    them too; this keeps filters and sorting by price exact). Safe to run twice at once."""
    return prices_switch_due()
