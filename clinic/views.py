from django.http import HttpResponse

from portal.decorators import staff_required


@staff_required
def home(request):
    return HttpResponse("ok")


patient_list = patient_create = patient_detail = patient_edit = patient_archive = home
audit_list = audit_export = home
