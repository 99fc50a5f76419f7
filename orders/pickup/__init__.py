"""Opening hours, pickup slots and their capacity: a bounded context inside orders.

schedule.py   the pure interval maths (hours, the slot grid, the booking window)
models.py     the models (still of the `orders` app: tables and migrations unchanged)
selectors.py  reads (whether the shop is open, the slots a shopper may book); never write
services.py   every write (booking, capacity, the schedule, making the slot rows ahead)
kitchen.py    the kitchen's pace: a ready time for every order, busy mode (pause, delay)
api.py        GET shop/ and GET shop/slots/
admin.py      the weekly hours, dated exceptions and slot capacities in the admin
"""
