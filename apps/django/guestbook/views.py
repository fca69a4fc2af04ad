from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .forms import EntryForm, UploadForm
from .models import Entry


def index(request):
    return render(
        request,
        "guestbook/index.html",
        {"framework": "Django", "entries": Entry.objects.all(), "form": EntryForm()},
    )


def hello(request, name):
    return render(request, "guestbook/hello.html", {"name": name})


def item(request, item_id):
    if item_id > 100:
        raise Http404("no such item")
    return JsonResponse({"id": item_id, "name": "item %d" % item_id, "framework": "django", "tags": ["a", "b"]})


def entries(request):
    """The ORM's typed values: datetimes (aware, USE_TZ), booleans, decimals."""
    return JsonResponse(
        {
            "entries": [
                {
                    "content": e.content,
                    "created": e.created.isoformat(),
                    "created_type": type(e.created).__name__,
                    "aware": e.created.tzinfo is not None,
                    "approved": e.approved,
                    "rating": str(e.rating),
                    "rating_type": type(e.rating).__name__,
                }
                for e in Entry.objects.all()
            ],
            "count": Entry.objects.count(),
        }
    )


@require_POST
def sign(request):
    form = EntryForm(request.POST)
    if not form.is_valid():
        return render(request, "guestbook/index.html", {"framework": "Django", "form": form}, status=400)
    Entry.objects.create(content=form.cleaned_data["content"])
    return redirect("index")


@require_POST
def api_sign(request):
    """The same form for scripts: its errors as JSON (each an ErrorList, a UserList and a list)."""
    form = EntryForm(request.POST)
    if not form.is_valid():
        return JsonResponse(form.errors, status=400)
    entry = Entry.objects.create(content=form.cleaned_data["content"])
    return JsonResponse({"id": entry.id}, status=201)


@require_POST
def upload(request):
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return HttpResponse("no file", status=400)
    f = form.cleaned_data["file"]
    response = HttpResponse(f.read(), content_type="application/octet-stream")
    response["X-Filename"] = f.name
    return response


def visit(request):
    request.session["visits"] = request.session.get("visits", 0) + 1
    return JsonResponse({"visits": request.session["visits"]})


def boom(request):
    raise RuntimeError("boom")
