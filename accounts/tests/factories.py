import factory

from accounts.models import User

PASSWORD = "s3cure-Passw0rd!"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    phone = "+6281200000000"
    password = factory.django.Password(PASSWORD)
