import datetime as dt

import factory
from allauth.account.models import EmailAddress

from apps.accounts.models import Space, User


class SpaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Space

    name = factory.Sequence(lambda n: f"Space {n}")
    time_zone = "Europe/Berlin"
    anniversary = dt.date(2019, 6, 14)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"partner{n}@example.com")
    display_name = factory.Sequence(lambda n: f"Partner {n}")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")
    space = None

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        if create:
            self.save()
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)


PASSWORD = "correct horse battery"
