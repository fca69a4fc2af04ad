from django import forms


class EntryForm(forms.Form):
    content = forms.CharField(max_length=200)


class UploadForm(forms.Form):
    file = forms.FileField()
