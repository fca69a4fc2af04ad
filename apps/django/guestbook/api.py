"""The guestbook as a REST API with Django REST framework: a model serializer with its own
validation, a viewset with search and ordering, a router (and its browsable HTML API)."""

from rest_framework import filters, routers, serializers, viewsets

from .models import Entry


class EntrySerializer(serializers.ModelSerializer):
    shout = serializers.SerializerMethodField()

    class Meta:
        model = Entry
        fields = ["id", "content", "created", "approved", "rating", "shout"]

    def get_shout(self, entry):
        return entry.content.upper()

    def validate_content(self, value):
        if not value.strip():
            raise serializers.ValidationError("say something")
        return value


class EntryViewSet(viewsets.ModelViewSet):
    queryset = Entry.objects.all()
    serializer_class = EntrySerializer
    filter_backends = [filters.SearchFilter, filters.OrderingFilter]
    search_fields = ["content"]
    ordering_fields = ["rating", "id"]


router = routers.DefaultRouter()
router.register("entries", EntryViewSet)
